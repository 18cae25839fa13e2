-- The field ownership declared in contracts/business_event.odcs.yaml (customProperties
-- `fieldOwnership`): one row per entity field with its system of record (docs/lineage.md),
-- validated by flowledger (lineage/ownership.py) and passed as the var flowledger_field_ownership.
with declared as (

    {{ field_ownership_rows() }}

)

select * from declared
