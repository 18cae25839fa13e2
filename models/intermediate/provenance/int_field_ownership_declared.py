"""The field ownership declared in contracts/business_event.odcs.yaml (customProperties
`fieldOwnership`): one row per entity field with its system of record (docs/lineage.md)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from lineage.ownership import ownership_table

    return ownership_table()
