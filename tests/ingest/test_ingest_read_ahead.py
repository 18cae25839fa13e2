"""``read_ahead``: batches produced on a background thread, in order, errors and early stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ingest.readers import read_ahead


def _counting(n: int, produced: list[int], fail_at: int | None = None) -> Iterator[int]:
    for i in range(n):
        if i == fail_at:
            raise OSError(f"disk went away at {i}")
        produced.append(i)
        yield i


def test_items_arrive_in_order_and_are_made_on_another_thread() -> None:
    threads: set[str] = set()

    def items() -> Iterator[int]:
        for i in range(50):
            threads.add(threading.current_thread().name)
            yield i

    assert list(read_ahead(items(), depth=2)) == list(range(50))
    assert threads == {"ingest-read-ahead"}


def test_an_error_of_the_producer_is_raised_after_the_items_before_it() -> None:
    seen: list[int] = []
    with pytest.raises(OSError, match="disk went away at 3"):
        for item in read_ahead(_counting(10, [], fail_at=3)):
            seen.append(item)
    assert seen == [0, 1, 2]


def test_stopping_early_stops_the_producer_and_closes_its_iterator() -> None:
    produced: list[int] = []
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            yield from _counting(1000, produced)
        finally:
            closed.set()

    before = threading.active_count()
    ahead = read_ahead(items(), depth=1)
    assert [next(ahead), next(ahead)] == [0, 1]
    ahead.close()  # what a consumer's exception or break does
    assert closed.is_set()
    assert threading.active_count() == before
    # at most the consumed items, the one in the hand-off queue and the one being offered
    assert len(produced) <= 4
