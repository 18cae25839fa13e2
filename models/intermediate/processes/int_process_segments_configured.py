"""The 'segments' of the process configuration (config/processes.yml, docs/processes.md)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from flowledger.processes.dbt_tables import config_table

    return config_table("segments")
