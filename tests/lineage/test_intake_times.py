"""Event times that cannot be read are a 400, never an error of the server."""

from __future__ import annotations

import pytest

from lineage.intake import IntakeError, _check_time


@pytest.mark.parametrize("text", ["9999-12-31T23:30:00-01:00", "0001-01-01T00:10:00+01:00"])
def test_a_time_beyond_the_calendar_in_utc_is_refused(text: str) -> None:
    with pytest.raises(IntakeError) as refused:
        _check_time(text, "eventTime")
    assert refused.value.status == 400


def test_ordinary_times_pass() -> None:
    _check_time("2025-03-01T10:00:00.123+02:00", "eventTime")
    _check_time("2025-03-01T10:00:00Z", "eventTime")
