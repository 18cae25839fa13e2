"""The flowledger dashboard: page config and navigation only; each page lives in ``app_pages/``.

Run it with ``streamlit run dashboards/streamlit_app.py`` (``FLOWLEDGER_HOME`` picks the data
directory). ``dashboards`` and ``flowledger`` are imported from the installed package, so no
``sys.path`` changes are needed.
"""

from __future__ import annotations

import streamlit as st

# an emoji icon, drawn locally: a material icon as the page icon is fetched from
# fonts.gstatic.com on every load, which an offline or air-gapped network does not reach
st.set_page_config(page_title="flowledger", page_icon="📊", layout="wide")

pages = [
    st.Page(
        "app_pages/leadership.py",
        title="Leadership — outcomes and health",
        icon=":material/insights:",
        url_path="leadership",
        default=True,
    ),
    st.Page(
        "app_pages/flow_health.py",
        title="Flow health",
        icon=":material/monitor_heart:",
        url_path="flow-health",
    ),
]
pages += [
    st.Page("app_pages/process.py", title="Process", icon=":material/route:", url_path="process"),
    st.Page(
        "app_pages/case_timeline.py",
        title="Case timeline",
        icon=":material/timeline:",
        url_path="case-timeline",
    ),
]
pages.append(
    st.Page(
        "app_pages/error_budgets.py",
        title="Error budgets",
        icon=":material/speed:",
        url_path="error-budgets",
    )
)
pages += [
    st.Page(
        "app_pages/lineage_explorer.py",
        title="Lineage explorer",
        icon=":material/account_tree:",
        url_path="lineage",
    ),
    st.Page(
        "app_pages/record_provenance.py",
        title="Record provenance",
        icon=":material/history:",
        url_path="provenance",
    ),
]
st.navigation(pages).run()
