"""Processes as configuration: loading, validation and the process KPI commands."""
