"""Sending a signed intent (a lazy mint or a sell order) with one owner and no blind retry.

The rules, shared by `minting.submit_mint` and `orders.submit_order`:

1. Take the intent's send claim (`storage/claims.py`): one conditional UPDATE, committed. While
   another process holds an unexpired claim the intent is its business: `IntentBusy` (the
   caller skips it; that is not a failure). An expired claim, or one held by a dead process of
   this host, means its owner crashed: step 2 reconciles before anything is sent again.
2. If an earlier send may have reached the marketplace (status `sending` or `ambiguous`), look
   it up; found -> `done`.
3. Mark it `sending`, count the send and extend the claim over the request's whole budget, in
   one UPDATE that only succeeds while this owner still holds the claim; committed before the
   request goes out.
4. Send once. Accepted -> `done`. Ambiguous (5xx, 429, timeout, dropped connection) -> look it
   up: found -> `done`, else `ambiguous`. Refused (4xx) -> `rejected` only for the first send
   this intent ever had, recorded under this owner's claim; a refusal after any earlier send
   (this process's or another's) may be "already exists", so it is looked up: found -> `done`,
   else `ambiguous`, never `rejected` (which would let the caller make a second token or order).
5. Each outcome is written and the claim released in one UPDATE, only while this owner holds
   the claim and the intent is not `done` already; `done` is the marketplace's own answer and
   is always recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.engine import Engine

from marketplace.client import AmbiguousSubmission, RaribleAuthError, RaribleRejected
from storage import claims
from storage.claims import table_of
from storage.db import session_scope
from storage.models.market import OPEN_INTENT_STATUSES, IntentStatus, MarketOrder, MintIntent
from storage.types import utcnow

log = logging.getLogger(__name__)

Intent = TypeVar("Intent", MintIntent, MarketOrder)
OPEN = tuple(s.value for s in OPEN_INTENT_STATUSES)


class IntentBusy(Exception):
    """Another process (the daemon, a second `bot publish`) holds this intent's send right now."""


class IntentMissing(LookupError):
    """No intent row with that id."""


@dataclass(frozen=True)
class SendClaim:
    """Who sends (`host:pid:random`) and how long one send may hold its claim: the lookups
    before it and the request's whole timeout, with a margin (`Market.claim_ttl_s`)."""

    owner: str
    ttl_s: float

    @classmethod
    def fresh(cls, ttl_s: float) -> SendClaim:
        return cls(claims.new_owner_id(), ttl_s)


@dataclass(frozen=True)
class Send:
    """How to send one kind of intent and read the marketplace's answer."""

    describe: Callable[[Any], str]  # "mint intent 3 (artwork 2)", for messages
    lookup: Callable[[Any], dict[str, Any] | None]  # the marketplace's record, or None
    request: Callable[[Any], dict[str, Any]]  # send the signed body once
    done_values: Callable[[Any, dict[str, Any]], Mapping[str, Any]]  # columns set when done


def load(engine: Engine, model: type[Intent], row_id: int) -> Intent:
    with session_scope(engine) as session:
        row = session.get(model, row_id)
        if row is None:
            raise IntentMissing(f"{model.__tablename__} row {row_id} does not exist")
        return row


def send_once(
    engine: Engine, model: type[Intent], row_id: int, claim: SendClaim, how: Send
) -> Intent:
    """Steps 1-5 of the module docstring; returns the intent as recorded (raises the
    marketplace's error after recording it, or IntentBusy)."""
    row = load(engine, model, row_id)
    if row.status not in OPEN:
        return row
    status = table_of(model).c.status
    if not claims.take(engine, model, row_id, claim.owner, claim.ttl_s, where=[status.in_(OPEN)]):
        row = load(engine, model, row_id)
        if row.status not in OPEN:
            return row
        until = f"{row.claim_expires_at:%H:%M:%S} UTC" if row.claim_expires_at else "it ends"
        raise IntentBusy(f"{how.describe(row)} is being sent by {row.claim_owner} (until {until})")
    try:
        return _send_claimed(engine, model, row_id, claim, how)
    except Exception:
        # Not recorded yet (a failed lookup, a bug): give the claim back with the status as it
        # is; `sending` makes the next owner look the intent up before any resend. (A kill runs
        # nothing here: its claim runs out, or is taken over once its pid is gone.)
        claims.release(engine, model, row_id, claim.owner)
        raise


def _send_claimed(
    engine: Engine, model: type[Intent], row_id: int, claim: SendClaim, how: Send
) -> Intent:
    row = load(engine, model, row_id)
    if row.status in (IntentStatus.SENDING.value, IntentStatus.AMBIGUOUS.value):
        found = how.lookup(row)  # a crash, an expired claim or a failed request came before
        if found is not None:
            log.info("%s: found on the marketplace before any resend", how.describe(row))
            return _record_done(engine, model, row_id, claim, how.done_values(row, found))
    sends = row.sends + 1
    now = utcnow()
    marked = claims.renew(
        engine,
        model,
        row_id,
        claim.owner,
        claim.ttl_s,
        values={
            "status": IntentStatus.SENDING.value,
            "sends": sends,
            "sent_at": now,
            "updated_at": now,
        },
    )
    if not marked:
        raise IntentBusy(f"{how.describe(row)}: another process took the send over")
    # committed: from here on a crash leaves `sending`, which the next owner looks up first
    try:
        response = how.request(row)
    except RaribleAuthError as exc:  # nothing stored now; an earlier send may have been
        after = IntentStatus.SIGNED if sends == 1 else IntentStatus.AMBIGUOUS
        _record(engine, model, row_id, claim, after, str(exc))
        raise
    except RaribleRejected as exc:
        first_send = [table_of(model).c.sends == 1]
        if sends == 1 and _record(
            engine, model, row_id, claim, IntentStatus.REJECTED, str(exc), where=first_send
        ):
            raise
        # After an earlier send a refusal may just be "already exists": look, never reject.
        found = how.lookup(row)
        if found is not None:
            return _record_done(engine, model, row_id, claim, how.done_values(row, found))
        error = f"refused after an earlier send: {exc}"
        _record(engine, model, row_id, claim, IntentStatus.AMBIGUOUS, error)
        raise
    except AmbiguousSubmission as exc:
        log.warning("%s: %s; looking it up", how.describe(row), exc)
        found = how.lookup(row)
        if found is not None:
            return _record_done(engine, model, row_id, claim, how.done_values(row, found))
        _record(engine, model, row_id, claim, IntentStatus.AMBIGUOUS, str(exc))
        raise
    return _record_done(engine, model, row_id, claim, how.done_values(row, response))


def _record(
    engine: Engine,
    model: type[Intent],
    row_id: int,
    claim: SendClaim,
    status: IntentStatus,
    error: str,
    *,
    where: list[Any] | None = None,
) -> bool:
    """Write a not-done outcome and release the claim, only while this owner holds it and the
    intent is not `done` (another owner's success is never overwritten)."""
    not_done = table_of(model).c.status != IntentStatus.DONE.value
    return claims.release(
        engine,
        model,
        row_id,
        claim.owner,
        where=[not_done, *(where or [])],
        values={"status": status.value, "error": error[:4000], "updated_at": utcnow()},
    )


def _record_done(
    engine: Engine, model: type[Intent], row_id: int, claim: SendClaim, values: Mapping[str, Any]
) -> Intent:
    now = utcnow()
    done = {"status": IntentStatus.DONE.value, "error": None, "done_at": now, "updated_at": now}
    done.update(values)
    if not claims.release(engine, model, row_id, claim.owner, values=done):
        # Our claim ran out and someone else holds it: the marketplace's "it is there" still
        # stands; their own outcome cannot overwrite `done`.
        table = table_of(model)
        with engine.begin() as connection:
            connection.execute(update(table).where(table.c.id == row_id).values(**done))
    return load(engine, model, row_id)
