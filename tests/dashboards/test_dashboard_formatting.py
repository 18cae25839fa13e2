from dashboards.formatting import (
    MISSING,
    code_span,
    count_delta,
    duration_axis,
    duration_delta,
    duration_ms_delta,
    field_value_text,
    format_count,
    format_duration,
    format_duration_ms,
    format_mean,
    format_rate,
    is_no_change,
    mean_delta,
    rate_delta,
    steps_text,
)


def test_durations_use_the_largest_readable_unit() -> None:
    assert format_duration(0.85) == "850 ms"
    assert format_duration(42) == "42.0 s"
    assert format_duration(90) == "1.5 min"
    assert format_duration(2.4 * 3600) == "2.4 h"
    assert format_duration(3.1 * 86400) == "3.1 d"
    assert format_duration(None) == MISSING


def test_milliseconds_read_like_durations() -> None:
    assert format_duration_ms(850) == "850 ms"
    assert format_duration_ms(8200) == "8.2 s"
    assert format_duration_ms(None) == MISSING


def test_rates_and_counts() -> None:
    assert format_rate(0.375) == "37.5%"
    assert format_rate(3 / 17) == "17.6%"
    assert format_rate(None) == MISSING
    assert format_count(1234) == "1,234"
    assert format_count(0.2) == "0.2"
    assert format_count(None) == MISSING


def test_deltas_carry_a_sign_and_the_unit() -> None:
    assert duration_delta(4 * 3600, 15 * 3600) == "-11.0 h"
    assert duration_delta(3600, 3600) == "±0 ms"
    assert duration_ms_delta(8200, 8000) == "+200 ms"
    assert rate_delta(0.375, 0.5) == "-12.5 pp"
    assert count_delta(7, 2) == "+5"
    assert count_delta(1, 1) == "±0"
    assert is_no_change("±0") and not is_no_change("+5") and not is_no_change(None)


def test_deltas_need_both_periods() -> None:
    assert duration_delta(None, 3600) is None
    assert duration_ms_delta(1000, None) is None
    assert rate_delta(0.1, None) is None
    assert count_delta(None, 1) is None


def test_duration_axis_follows_the_largest_value() -> None:
    assert duration_axis(None) == ("s", 1.0)
    assert duration_axis(59) == ("s", 1.0)
    assert duration_axis(600) == ("min", 60.0)
    assert duration_axis(36 * 3600) == ("h", 3600.0)
    assert duration_axis(2 * 86400) == ("d", 86400.0)


def test_code_span_shows_outside_text_literally_on_one_short_line() -> None:
    assert code_span("nope") == "`nope`"
    assert code_span("a`b") == "``a`b``"  # a longer fence than any run inside
    assert code_span("`x") == "`` `x ``"  # padded: a fence must not touch a backtick
    assert code_span("a\nb") == "`a\\nb`"  # no line break, so no new paragraph or heading
    assert code_span("y" * 100) == "`" + "y" * 59 + "…`"


def test_a_runs_steps_read_as_words() -> None:
    """The case timeline showed each run's steps as raw JSON."""
    steps = (
        '[{"step":"Fetch quote","attempt":1,"status":"success","started_at":"2026-08-24 09:27"},'
        '{"step":"Post contract","attempt":2,"status":"failed","started_at":"2026-08-24 09:28"}]'
    )
    assert steps_text(steps) == "Fetch quote: success → Post contract: failed (attempt 2)"
    assert steps_text("[]") == "" and steps_text(None) == ""


def test_numbers_round_half_up_as_a_reader_rounds_them() -> None:
    """1.65 d read "1.6 d" (the float under 1.65 is a hair below it) where a reader who
    checks the figure by hand writes 1.7; the same for rates, counts and their deltas."""
    assert format_duration(1.65 * 86400) == "1.7 d"
    assert format_duration(0.0625) == "63 ms"  # Python's round-half-even gave "62 ms"
    assert format_rate(0.0125) == "1.3%"
    assert format_count(2.25) == "2.3"
    assert count_delta(2.25, 0) == "+2.3"
    assert count_delta(0, 2.25) == "-2.3"
    assert rate_delta(0.0125, 0) == "+1.3 pp"
    # a rate times 100 is a binary float below the half: 0.0045 * 100 = 0.44999…
    assert (format_rate(0.0045), format_rate(0.0185)) == ("0.5%", "1.9%")
    assert rate_delta(0.0045, 0) == "+0.5 pp"


def test_a_duration_takes_its_unit_after_rounding() -> None:
    """59.96 s read "60.0 s" and 3599.9 s "60.0 min": the next unit reads better."""
    assert format_duration(59.96) == "1.0 min"
    assert format_duration(0.9996) == "1.0 s"
    assert format_duration(3599.9) == "1.0 h"
    assert format_duration(86399) == "1.0 d"
    assert format_duration(-59.96) == "-1.0 min"
    assert duration_delta(60.0002, 60) == "±0 ms"


def test_a_mean_keeps_its_decimal() -> None:
    """Throughput 10.0 a day read "10" beside "9.5", and its delta "+10"."""
    assert format_mean(10.0) == "10.0"
    assert format_mean(1.65) == "1.7"
    assert format_mean(1234.5) == "1,234.5"
    assert format_mean(None) == MISSING
    assert (mean_delta(10.0, 0.0), mean_delta(9.5, 10.0), mean_delta(1, 1)) == (
        "+10.0",
        "-0.5",
        "±0.0",
    )


def test_numbers_that_are_not_finite_or_huge_still_read() -> None:
    """The decimal rounding raised on infinity and on numbers beyond 28 digits."""
    assert format_count(float("inf")) == "inf"
    assert format_duration(float("inf")) == "inf d"
    assert format_rate(1e30).startswith("1000000000000000") and format_rate(1e30).endswith(".0%")
    assert format_duration(1e25).endswith(" d")


def test_a_purged_value_reads_as_purged_with_its_digest_start() -> None:
    digest = '"(purged) sha256:3f2a9c1d' + "0" * 24 + '"'
    assert field_value_text(digest) == "(purged 3f2a9c1d)"
    assert field_value_text('"1 Main St"') == '"1 Main St"'
    assert field_value_text("12.5") == "12.5" and field_value_text(None) is None
