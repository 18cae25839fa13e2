"""Error budgets: SLOs as configuration, burn-rate arithmetic, and the ``flowledger budget`` CLI.

The budget numbers themselves are dbt marts (``models/*/error_budgets/``); this package loads and
validates the SLO YAML, renders it to dbt ``--vars``, and reads the published marts.
"""

from flowledger.budgets.config import (
    BudgetConfig,
    ConfigError,
    SloObjective,
    config_path,
    load_config,
)

__all__ = ["BudgetConfig", "ConfigError", "SloObjective", "config_path", "load_config"]
