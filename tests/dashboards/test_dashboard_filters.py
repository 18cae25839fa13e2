import re
from datetime import date

import pytest

from dashboards.filters import (
    FilterOptions,
    Filters,
    choose,
    default_range,
    filters_to_query_params,
    parse_filters,
    range_within,
)

OPTIONS = FilterOptions(
    first_day=date(2026, 9, 10),
    last_day=date(2026, 10, 29),
    processes=("cart_to_fulfillment", "quote_to_cash"),
    flow_names={"c2f-order-intake": "Order intake", "q2c-contract-sync": "Quote to contract sync"},
)


def test_default_is_the_last_30_days_ending_at_the_last_day() -> None:
    filters, warnings = parse_filters({}, OPTIONS)
    assert filters == Filters(start=date(2026, 9, 30), end=date(2026, 10, 29))
    assert warnings == []


def test_default_range_never_starts_before_the_data() -> None:
    short = FilterOptions(date(2026, 10, 20), date(2026, 10, 29), ())
    assert default_range(short) == (date(2026, 10, 20), date(2026, 10, 29))


def test_default_range_ends_at_data_as_of_when_later_days_exist() -> None:
    options = FilterOptions(
        date(2026, 9, 10), date(2026, 10, 29), (), default_end=date(2026, 10, 20)
    )
    filters, warnings = parse_filters({"to": "2026-10-29"}, options)
    assert (filters.start, filters.end, warnings) == (date(2026, 9, 30), date(2026, 10, 29), [])
    assert default_range(options) == (date(2026, 9, 21), date(2026, 10, 20))


def test_valid_parameters_set_every_filter() -> None:
    params = {
        "from": "2026-10-01",
        "to": "2026-10-03",
        "process": "quote_to_cash",
        "flow": "q2c-contract-sync",
    }
    filters, warnings = parse_filters(params, OPTIONS)
    assert filters == Filters(
        date(2026, 10, 1), date(2026, 10, 3), "quote_to_cash", "q2c-contract-sync"
    )
    assert warnings == []
    assert filters_to_query_params(filters) == params


def test_only_to_gives_the_30_days_before_it() -> None:
    filters, _ = parse_filters({"to": "2026-10-15"}, OPTIONS)
    assert (filters.start, filters.end) == (date(2026, 9, 16), date(2026, 10, 15))


def test_repeated_parameter_uses_the_last_value() -> None:
    filters, _ = parse_filters({"process": ["nope", "quote_to_cash"]}, OPTIONS)
    assert filters.process == "quote_to_cash"


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"from": "2026-13-01"}, "`from=2026-13-01`"),
        ({"to": "yesterday"}, "`to=yesterday`"),
        ({"from": "2025-01-01"}, "the data covers 2026-09-10 to 2026-10-29"),
        ({"from": "2026-10-10", "to": "2026-10-01"}, "`from` is after `to`"),
        ({"process": "nope"}, "known processes are cart_to_fulfillment, quote_to_cash"),
        ({"flow": "ghost"}, "`flow=ghost`"),
    ],
)
def test_invalid_values_are_ignored_with_a_warning(params: dict[str, str], fragment: str) -> None:
    filters, warnings = parse_filters(params, OPTIONS)
    assert filters == Filters(start=date(2026, 9, 30), end=date(2026, 10, 29))
    assert len(warnings) == 1
    assert fragment in warnings[0]


def test_flow_required_picks_the_first_flow() -> None:
    filters, warnings = parse_filters({"flow": "ghost"}, OPTIONS, flow_required=True)
    assert filters.flow_id == "c2f-order-intake"
    assert len(warnings) == 1


def test_previous_period_has_the_same_length_and_ends_the_day_before() -> None:
    filters = Filters(date(2026, 9, 30), date(2026, 10, 29), "quote_to_cash")
    previous = filters.previous_period()
    assert filters.days == previous.days == 30
    assert (previous.start, previous.end) == (date(2026, 8, 31), date(2026, 9, 29))
    assert previous.process == "quote_to_cash"


def test_query_params_leave_out_unchosen_filters() -> None:
    filters = Filters(date(2026, 10, 1), date(2026, 10, 2))
    assert filters_to_query_params(filters) == {"from": "2026-10-01", "to": "2026-10-02"}


def test_flow_label_shows_name_and_id() -> None:
    assert OPTIONS.flow_label("c2f-order-intake") == "Order intake (c2f-order-intake)"
    assert OPTIONS.flow_label("unknown") == "unknown"


def test_range_within_the_data() -> None:
    assert range_within((date(2026, 9, 10), date(2026, 10, 29)), OPTIONS)
    assert range_within(date(2026, 10, 1), OPTIONS)
    assert not range_within((date(2026, 9, 9), date(2026, 10, 1)), OPTIONS)
    assert not range_within((date(2026, 10, 1), date(2026, 10, 30)), OPTIONS)
    assert not range_within(None, OPTIONS)


HOSTILE = (
    "x` [link](http://example.com) ![img](http://example.com/i.png) `\n\n# heading " + "y" * 500
)


@pytest.mark.parametrize("name", ["from", "to", "process", "flow"])
def test_a_url_value_is_repeated_as_one_short_code_span(name: str) -> None:
    """Whatever a hand-edited link holds, the warning shows it as text: no link, image or
    heading of its own, no page-long line."""
    _, (warning,) = parse_filters({name: HOSTILE}, OPTIONS)
    assert "\n" not in warning and len(warning) < 250, warning
    span = warning.removeprefix("Ignored ").split(" from the URL:")[0]
    fence = re.match("`+", span).group()
    inner = span[len(fence) : -len(fence)]
    assert span.endswith(fence) and inner.startswith(f"{name}=x`")
    assert all(len(run) < len(fence) for run in re.findall("`+", inner)), span


def test_choose_finds_the_named_choice_or_warns_and_shows_the_first() -> None:
    choices = ("cart_to_fulfillment", "quote_to_cash")
    assert choose("quote_to_cash", choices, "process", "process") == (1, [])
    assert choose(["nope", "quote_to_cash"], choices, "process", "process") == (1, [])
    assert choose(None, choices, "process", "process") == (0, [])
    assert choose(" ", choices, "process", "process") == (0, [])
    assert choose("nope", choices, "process", "process") == (
        0,
        [
            "Ignored `process=nope` from the URL: not a known process; showing "
            "`cart_to_fulfillment`."
        ],
    )


def test_only_from_after_data_as_of_ends_at_the_last_day() -> None:
    """Queue samples newer than data_as_of make days after the default end selectable."""
    options = FilterOptions(
        date(2026, 9, 10), date(2026, 10, 29), (), default_end=date(2026, 10, 20)
    )
    filters, warnings = parse_filters({"from": "2026-10-25"}, options)
    assert (filters.start, filters.end, warnings) == (date(2026, 10, 25), date(2026, 10, 29), [])
