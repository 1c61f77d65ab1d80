from __future__ import annotations

import gc

import pytest

from storage.batches import BULK_GC_THRESHOLD0, bulk_gc


def test_bulk_gc_collects_rarely_inside_and_restores_the_collector_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), bulk_gc():
        assert gc.get_threshold()[0] == BULK_GC_THRESHOLD0
        assert gc.get_freeze_count() > 0  # what lived before the job is left alone
        raise RuntimeError("a batch failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_bulk_gc_still_frees_cycles_made_inside() -> None:
    """Rarely is not never: a cycle made during the job is collected when asked."""

    class Node:
        partner: Node | None = None

    with bulk_gc():
        first, second = Node(), Node()
        first.partner, second.partner = second, first
        del first, second
        assert gc.collect() >= 2


def test_overlapping_bulk_jobs_restore_the_collector_when_the_last_one_ends() -> None:
    before = gc.get_threshold()
    outer, inner = bulk_gc(), bulk_gc()
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # the first one ends while the second still runs
    assert gc.get_threshold()[0] == BULK_GC_THRESHOLD0
    inner.__exit__(None, None, None)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
