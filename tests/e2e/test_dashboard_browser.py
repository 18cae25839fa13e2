"""The dashboard as a person sees it: a real headless chromium against `flowledger dashboard`."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from shutil import which
from urllib.parse import quote, urljoin, urlparse

import pytest

from flowledger.query import run_query

from .conftest import FLOWLEDGER, Dashboard, Demo, run_cli, serve_dashboard

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: run scripts/install-browser.sh (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


def _goto(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    page.goto(url, wait_until="domcontentloaded")
    return page


def _open(browser, url: str):
    page = _goto(browser, url)
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=90_000)
    page.get_by_text(re.compile("Data as of")).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # let the remaining elements of the run render
    return page


def _assert_healthy(page) -> list[str]:
    assert page.locator('[data-testid="stException"]').count() == 0, page.inner_text("body")[:3000]
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert values and any(re.search(r"\d", value) for value in values), values
    return values


def test_leadership_page_shows_numbers_and_no_error(browser, dashboard: Dashboard, tmp_path):
    page = _open(browser, dashboard.url)
    values = _assert_healthy(page)
    assert len(values) >= 6, f"expected outcome and health KPIs, got {values}"
    # plotly draws after the metrics: on a loaded machine later than _open's grace period
    page.locator(".js-plotly-plot").nth(1).wait_for(state="attached", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 2, "expected plotly charts"
    page.screenshot(path=str(tmp_path / "leadership.png"), full_page=True)
    page.close()


def test_a_number_s_lineage_link_opens_the_explorer_on_its_column(browser, dashboard: Dashboard):
    page = _open(browser, dashboard.url)
    link = page.get_by_role("link", name="fct_cases.cycle_time_seconds").first
    link.wait_for(timeout=30_000)
    target = urljoin(page.url, link.get_attribute("href"))
    assert urlparse(target).path == "/lineage"
    page.close()
    explorer = _goto(browser, target)
    explorer.get_by_text("Steps", exact=True).first.wait_for(timeout=90_000)
    # the explorer picked the column and wrote its full name back into the URL
    explorer.wait_for_url(re.compile(r"column=marts\.main\.fct_cases\.cycle_time_seconds"))
    assert explorer.locator('[data-testid="stException"]').count() == 0
    explorer.close()


def test_a_page_asks_nothing_of_the_internet(browser, dashboard: Dashboard):
    # the page icon, a material icon, was fetched from fonts.gstatic.com on every load: broken
    # on an offline or air-gapped network
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(re.sub(r"^\w+://([^/:]+).*$", r"\1", request.url)))
    page.goto(dashboard.url, wait_until="domcontentloaded")
    page.wait_for_selector('[data-testid="stMetricValue"]', timeout=90_000)
    page.wait_for_timeout(1500)
    page.close()
    assert hosts <= {"127.0.0.1", "localhost"}, hosts - {"127.0.0.1", "localhost"}


def _last_seven_days(demo: Demo) -> tuple[str, str]:
    (row,) = run_query(
        demo.data_dir, "select (max(day) - 6)::varchar, max(day)::varchar from fct_process_daily"
    ).rows
    first, last = row
    return first, last


def test_filters_live_in_the_url(browser, dashboard: Dashboard, demo: Demo):
    from playwright.sync_api import expect

    first, last = _last_seven_days(demo)
    url = f"{dashboard.url}/?process=quote_to_cash&from={first}&to={last}"
    page = _open(browser, url)
    _assert_healthy(page)
    assert "process=quote_to_cash" in page.url
    assert f"from={first}" in page.url
    # the sidebar's links carry no query string: the filters survive a switch of pages
    sidebar = page.locator('[data-testid="stSidebarNav"] a')
    sidebar.filter(has_text="Flow health").click()
    expect(page).to_have_url(re.compile(rf"/flow-health\?.*from={first}&to={last}"), timeout=60_000)
    sidebar.filter(has_text="Leadership").click()
    expect(page).to_have_url(
        re.compile(rf"/\?from={first}&to={last}&process=quote_to_cash"), timeout=60_000
    )
    _assert_healthy(page)
    page.close()


def test_dashboard_and_sql_keep_answering_while_ingest_and_build_run(
    browser, dashboard: Dashboard, demo: Demo
):
    loop = (
        "import subprocess, sys\n"
        "for _ in range(2):\n"
        f"    subprocess.run([{FLOWLEDGER!r}, '--data-dir', {str(demo.data_dir.root)!r}, 'ingest', "
        f"*{[str(p) for p in demo.files]!r}], check=True, capture_output=True)\n"
        f"    subprocess.run([{FLOWLEDGER!r}, '--data-dir', {str(demo.data_dir.root)!r}, 'build', '--quiet'], "
        "check=True, capture_output=True)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", loop])
    page_loads = queries = 0
    try:
        while writer.poll() is None:
            page = _open(browser, dashboard.url)
            _assert_healthy(page)
            page.close()
            page_loads += 1
            result = run_cli(demo.data_dir, "sql", "select count(*) from fct_cases")
            assert re.search(r"\d+", result.stdout)
            queries += 1
            time.sleep(0.2)
    finally:
        code = writer.wait(timeout=600)
    assert code == 0, "the ingest/build loop failed"
    assert page_loads >= 2 and queries >= 2, (page_loads, queries)


HOSTILE = (
    "x` [link](http://example.com) ![img](http://127.0.0.1:9/x.png) ` [link](http://example.com)"
)


@pytest.mark.parametrize(
    "path",
    [
        f"/?process={quote(HOSTILE)}",
        f"/case-timeline?case={quote(HOSTILE)}",
        f"/provenance?entity=order&key={quote(HOSTILE)}",
    ],
)
def test_a_url_value_in_a_warning_is_text_not_markdown(browser, dashboard: Dashboard, path):
    """A crafted link cannot put its own links or images into the app's warnings."""
    page = _goto(browser, f"{dashboard.url}{path}")
    warning = page.locator('[data-testid="stAlertContentWarning"]').first
    warning.wait_for(timeout=90_000)
    assert "[link](http://example.com)" in warning.inner_text()
    assert warning.locator("a, img").count() == 0
    page.close()


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/process?process=nope", "process=nope"),
        ("/error-budgets?slo=nope", "slo=nope"),
        ("/lineage?column=nope&direction=sideways", "column=nope"),
        ("/lineage?direction=sideways", "direction=sideways"),
        ("/provenance?entity=nope", "entity=nope"),
    ],
)
def test_a_page_says_when_the_url_names_nothing_it_knows(
    browser, dashboard: Dashboard, path, named
):
    """A hand-edited or stale link is not silently swapped for another view."""
    page = _goto(browser, f"{dashboard.url}{path}")
    warning = page.locator('[data-testid="stAlertContentWarning"]', has_text=named)
    warning.first.wait_for(timeout=90_000)
    assert "from the URL" in warning.first.inner_text()
    page.close()


@pytest.mark.parametrize("path", ["/flow-health", "/process"])
def test_a_deep_link_can_be_a_fresh_server_s_first_request(browser, demo: Demo, path):
    """Until a session has run the app's st.navigation, Streamlit resolves a request by the
    pages/ folder beside the app, if there is one: a deep link then showed "Page not found" or
    ran its page on its own, without the app's navigation and layout."""
    with serve_dashboard(demo.data_dir) as served:
        page = _goto(browser, f"{served.url}{path}")
        page.wait_for_selector('[data-testid="stMetricValue"]', timeout=90_000)
        page.wait_for_timeout(1500)
        assert page.get_by_text("Page not found").count() == 0
        links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
        assert any("Leadership — outcomes" in link for link in links), links
        page.close()


def _settle(page) -> None:
    """Wait until the app's run after a navigation has finished (and written the URL)."""
    page.wait_for_timeout(1000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    page.wait_for_timeout(1500)


def test_browser_back_returns_to_the_view_the_url_held(browser, dashboard: Dashboard, demo: Demo):
    """Back shows the filters of the URL it returns to. The widgets' own state won before, and
    wrote itself over that URL; and every filter written was a history entry of its own."""
    from playwright.sync_api import expect

    first, last = _last_seven_days(demo)
    start = f"{dashboard.url}/?from={first}&to={last}&process=quote_to_cash"
    page = _open(browser, start)
    length = page.evaluate("history.length")
    process = page.get_by_role("combobox", name="Process")
    process.click()
    page.get_by_role("option", name="cart_to_fulfillment").click()
    expect(page).to_have_url(re.compile("process=cart_to_fulfillment"), timeout=60_000)
    _settle(page)
    assert page.evaluate("history.length") == length + 1  # one entry for one change
    page.go_back()
    _settle(page)
    assert page.url == start
    expect(process).to_have_value("quote_to_cash", timeout=30_000)

    # A switch of pages, then Back twice at most: Streamlit pushes the new page's path and its
    # URL filters as two entries (in either order), so one Back may stay on a mixed entry.
    sidebar = page.locator('[data-testid="stSidebarNav"] a')
    sidebar.filter(has_text="Flow health").click()
    expect(page).to_have_url(re.compile(r"/flow-health\?.*flow="), timeout=60_000)
    _settle(page)
    assert page.evaluate("history.length") <= length + 2
    for _ in range(2):
        page.go_back()
        _settle(page)
        if page.url == start:
            break
    assert page.url == start
    expect(process).to_have_value("quote_to_cash", timeout=30_000)
    _assert_healthy(page)
    page.close()


def test_sigterm_to_flowledger_dashboard_stops_streamlit_too(demo: Demo):
    """A service manager stops `flowledger dashboard` with SIGTERM to its process alone: its
    Streamlit child served on, orphaned, keeping the port and the old snapshot."""
    import signal
    import urllib.request

    with serve_dashboard(demo.data_dir) as served:
        served.process.send_signal(signal.SIGTERM)
        served.process.wait(timeout=20)
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{served.url}/_stcore/health", timeout=2).close()
            except OSError:
                break  # nothing answers on the port any more
            assert time.monotonic() < deadline, "Streamlit still serves after SIGTERM"
            time.sleep(0.5)
