"""`bot report pipeline`: the funnel, the time each stage takes, and what failed where.

- Funnel: an artwork *reached* a state when its event history (artwork_events) or its current
  state shows it got that far in the pipeline order; `now` is how many are in it today.
- Stage times: for each pipeline state, the time from entering it to entering the next
  state (the stage that moves it on: waiting plus working), over every such interval in the
  history; intervals that ended in `failed` are counted apart. A state an artwork is still in
  is not counted (its time is not over). "whole pipeline" is candidate -> listed per artwork.
- Failures: failure events per stage (every attempt that failed), and the artworks failed now
  grouped by stage and reason (numbers and hex ids folded, so "attempt 3" and "attempt 4"
  count together; each row keeps one whole example).
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy.engine import Engine

from bot.reports import store
from bot.reports.model import Chart, Column, Report, Section
from storage.models import PIPELINE_ORDER, ArtworkState
from storage.types import utcnow

STAGE_OF = {  # state -> the stage (command) that moves an artwork out of it
    "candidate": "prepare",
    "prepared": "generate",
    "generated": "choose",
    "chosen": "pin",
    "pinned": "mint (intent)",
    "minting": "mint",
    "minted": "list (intent)",
    "listing": "list",
    "listed": "sale",
}
ORDER = [state.value for state in PIPELINE_ORDER]
_FAILED_REASON = re.compile(r"^(\w+) failed$")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def reason_kind(text: str | None) -> str:
    """A reason with its particulars folded: 'ranked #6, below the top 5' -> 'ranked #N, …'."""
    first = (text or "").strip().splitlines()[0] if (text or "").strip() else "(no reason)"
    return _NUMBER.sub("N", _HEX.sub("0x…", first))[:200]


def _stats(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "median_s": None, "mean_s": None, "p90_s": None, "max_s": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "median_s": statistics.median(ordered),
        "mean_s": statistics.fmean(ordered),
        "p90_s": ordered[math.ceil(0.9 * len(ordered)) - 1],
        "max_s": ordered[-1],
    }


def build(engine: Engine, *, mode: str) -> Report:
    with store.reading(engine) as session:
        artworks = store.artwork_rows(session)
        events = store.events(session)
        infos = store.artworks(session)
    history: dict[int, list[store.EventRow]] = defaultdict(list)
    for event in events:
        history[event.artwork_id].append(event)
    sections = [
        _funnel(artworks, history),
        _stage_times(history),
        _failures_by_stage(history),
        _failed_now(artworks, infos),
        _rejections(artworks),
    ]
    notes = [
        "Counts cover every artwork in the store (all modes: states are not per mode); "
        f"the marketplace mode is {mode}.",
    ]
    return Report("pipeline", "Pipeline", utcnow(), mode, sections, notes)


def _funnel(artworks: list[store.ArtworkRow], history: dict[int, list[store.EventRow]]) -> Section:
    reached = [0] * len(ORDER)
    ever_failed = ever_rejected = 0
    now: dict[str, int] = defaultdict(int)
    for artwork in artworks:
        now[artwork.state] += 1
        states = {e.to_state for e in history.get(artwork.id or 0, [])} | {artwork.state}
        furthest = max((ORDER.index(s) for s in states if s in ORDER), default=-1)
        for index in range(furthest + 1):
            reached[index] += 1
        ever_failed += ArtworkState.FAILED.value in states
        ever_rejected += ArtworkState.REJECTED.value in states
    total = len(artworks)
    rows: list[dict[str, Any]] = []
    for index, state in enumerate(ORDER):
        rows.append(
            {
                "state": state,
                "reached": reached[index],
                "now": now.get(state, 0),
                "of_candidates": _share(reached[index], reached[0]),
            }
        )
    rows.append({"state": "rejected", "reached": ever_rejected, "now": now.get("rejected", 0)})
    rows.append({"state": "failed", "reached": ever_failed, "now": now.get("failed", 0)})
    return Section(
        "funnel",
        "Funnel",
        [
            Column("state", "state"),
            Column("reached", "reached", "int"),
            Column("now", "now", "int"),
            Column("of_candidates", "% of candidates", "ratio"),
        ],
        rows,
        notes=[f"{total} artwork(s) in the store."],
        chart=Chart(
            "barh",
            "Artworks that reached each state",
            x="state",
            y="reached",
            xlabel="artworks",
            ylabel="state",
        ),
    )


def _share(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal("0.1"), ROUND_HALF_EVEN)


def _stage_times(history: dict[int, list[store.EventRow]]) -> Section:
    done: dict[str, list[float]] = defaultdict(list)
    failed: dict[str, list[float]] = defaultdict(list)
    whole: list[float] = []
    for events in history.values():
        for current, following in pairwise(events):
            state = current.to_state
            if state not in STAGE_OF:
                continue
            seconds = (following.at - current.at).total_seconds()
            next_index = ORDER.index(state) + 1
            if following.to_state == ORDER[next_index]:
                done[state].append(seconds)
            elif following.to_state == ArtworkState.FAILED.value:
                failed[state].append(seconds)
        start = next((e.at for e in events if e.to_state == "candidate"), None)
        end = next((e.at for e in events if e.to_state == "listed"), None)
        if start is not None and end is not None and end >= start:
            whole.append((end - start).total_seconds())
    rows = []
    for state, stage in STAGE_OF.items():
        next_state = ORDER[ORDER.index(state) + 1]
        rows.append(
            {
                "stage": stage,
                "from_state": state,
                "to_state": next_state,
                **_stats(done.get(state, [])),
                "failed_n": len(failed.get(state, [])),
                "failed_median_s": statistics.median(failed[state]) if failed.get(state) else None,
            }
        )
    rows.append(
        {
            "stage": "whole pipeline",
            "from_state": "candidate",
            "to_state": "listed",
            **_stats(whole),
            "failed_n": None,
            "failed_median_s": None,
        }
    )
    return Section(
        "stage_times",
        "Time per stage",
        [
            Column("stage", "stage"),
            Column("from_state", "from"),
            Column("to_state", "to"),
            Column("n", "n", "int"),
            Column("median_s", "median", "seconds"),
            Column("mean_s", "mean", "seconds"),
            Column("p90_s", "p90", "seconds"),
            Column("max_s", "max", "seconds"),
            Column("failed_n", "ended failed", "int"),
            Column("failed_median_s", "median to failure", "seconds"),
        ],
        rows,
        notes=["Seconds from entering the state to entering the next (CSV/JSON in seconds)."],
        chart=Chart(
            "barh",
            "Median time per stage (s)",
            x="stage",
            y="median_s",
            xlabel="seconds",
            ylabel="stage",
        ),
    )


def _failures_by_stage(history: dict[int, list[store.EventRow]]) -> Section:
    events: dict[str, int] = defaultdict(int)
    artworks: dict[str, set[int]] = defaultdict(set)
    for artwork_id, items in history.items():
        for event in items:
            if event.to_state != ArtworkState.FAILED.value:
                continue
            match = _FAILED_REASON.match(event.reason or "")
            stage = match.group(1) if match else (event.from_state or "unknown")
            events[stage] += 1
            artworks[stage].add(artwork_id)
    rows = [
        {"stage": stage, "failures": events[stage], "artworks": len(artworks[stage])}
        for stage in sorted(events, key=lambda s: (-events[s], s))
    ]
    return Section(
        "failures_by_stage",
        "Failures per stage (history)",
        [
            Column("stage", "failed stage"),
            Column("failures", "failures", "int"),
            Column("artworks", "artworks", "int"),
        ],
        rows,
        notes=[] if rows else ["No failure recorded."],
    )


def _failed_now(artworks: list[store.ArtworkRow], infos: dict[int, store.ArtworkInfo]) -> Section:
    groups: dict[tuple[str, str], list[store.ArtworkRow]] = defaultdict(list)
    for artwork in artworks:
        if artwork.state == ArtworkState.FAILED.value:
            groups[(artwork.failed_stage or "unknown", reason_kind(artwork.error))].append(artwork)
    rows = []
    for (stage, reason), members in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        rows.append(
            {
                "stage": stage,
                "reason": reason,
                "artworks": len(members),
                "attempts": sum(a.attempts for a in members),
                "artwork_ids": [str(a.id) for a in members],
                "example": members[0].error,
            }
        )
    return Section(
        "failed_now",
        "Failed artworks now, by stage and reason",
        [
            Column("stage", "stage"),
            Column("reason", "reason"),
            Column("artworks", "artworks", "int"),
            Column("attempts", "attempts", "int"),
            Column("artwork_ids", "artwork ids", "list"),
            Column("example", "example error"),
        ],
        rows,
    )


def _rejections(artworks: list[store.ArtworkRow]) -> Section:
    groups: dict[str, list[store.ArtworkRow]] = defaultdict(list)
    for artwork in artworks:
        if artwork.state == ArtworkState.REJECTED.value:
            groups[reason_kind(artwork.reason)].append(artwork)
    rows = [
        {"reason": reason, "artworks": len(members), "example": members[0].reason}
        for reason, members in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
    ]
    return Section(
        "rejections",
        "Rejected, by reason",
        [
            Column("reason", "reason"),
            Column("artworks", "artworks", "int"),
            Column("example", "example"),
        ],
        rows,
    )
