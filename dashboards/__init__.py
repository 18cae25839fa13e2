"""The Streamlit dashboard: data loaders, chart and table builders, pages.

pandas is imported here, whole, before any page runs. plotly looks pandas up in ``sys.modules``
without importing it (``_plotly_utils.optional_imports.get_module(..., should_load=False)``):
while one Streamlit session's thread is importing pandas (a dataframe, a polars frame to
pandas), a chart built in another session's thread found the half-initialized module and failed
with "partially initialized module 'pandas' has no attribute 'Series'" (seen once in the
browser test of the leadership page). An ``import`` statement waits for an import in progress;
plotly's lookup does not.
"""

import pandas  # noqa: F401  (see the docstring)
