"""The daemon's scheduled jobs. Each is a module-level function (APScheduler's job store keeps
a reference to it by name, and no live object) that the daemon's executor calls with the
running `Daemon` (bot/daemon/service.py); each returns a one-line outcome for `bot status`
and whether it is worth a log line (a pass that found nothing to do is logged at DEBUG: what
cannot run is reported once, by the daemon, not on every run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.pipeline.cycle import StepReport, curate_step, fetch_step, scrape_step, sync_step
from bot.pipeline.runner import run_pass

if TYPE_CHECKING:
    from bot.daemon.service import Daemon
    from bot.settings import Settings

log = logging.getLogger(__name__)


def _step_line(step: StepReport) -> str:
    return f"{step.name} {step.status}" + (f": {step.detail}" if step.detail else "")


Outcome = tuple[str, bool]  # (one line, worth logging at INFO)


def scrape(daemon: Daemon) -> Outcome:
    step = scrape_step(daemon.pipeline)
    daemon.note_unavailable("scrape", step.detail if step.status == "skipped" else None)
    return _step_line(step), step.status not in ("skipped", "nothing")


def pipeline_tick(daemon: Daemon) -> Outcome:
    """Curate what changed, fetch missing images, then every stage as far as it goes."""
    ctx = daemon.pipeline
    steps = [curate_step(ctx), fetch_step(ctx)]
    lines = [_step_line(step) for step in steps]
    report = run_pass(ctx)
    seen: set[str] = set()
    for stage in report.stages:
        if stage.name in seen:
            continue
        seen.add(stage.name)
        daemon.note_unavailable(stage.name, stage.skipped)
    lines.append(f"stages: {report.advanced} advanced, {report.failures} failed")
    busy = report.advanced or report.failures or any(s.status == "done" for s in steps)
    return "; ".join(lines), bool(busy)


def sync(daemon: Daemon) -> Outcome:
    step = sync_step(daemon.pipeline)
    daemon.note_unavailable("sync", step.detail if step.status == "skipped" else None)
    if step.status == "failed":
        raise RuntimeError(step.detail)  # recorded as the job's error; the next run retries
    return _step_line(step), step.status == "done"


def daily_report(daemon: Daemon) -> Outcome:
    """The day's reports (bot report pipeline | revenue | bids, as HTML with charts) under
    <data_dir>/reports/<date>-<name>.html, each written whole or not at all."""
    from bot.reports import bids, pipeline, render, revenue
    from marketplace.networks import network_for_mode
    from marketplace.wallet import WalletError, keystore_info

    ctx = daemon.pipeline
    settings = ctx.settings
    mode = settings.marketplace_mode.value
    weth = network_for_mode(mode).weth
    try:
        ours = {keystore_info(settings.wallet_dir).address.lower()}
    except (WalletError, OSError, ValueError):
        ours = set()
    reports = {
        "pipeline": pipeline.build(ctx.engine, mode=mode),
        "revenue": revenue.build(
            ctx.engine,
            mode=mode,
            weth=weth,
            our_addresses=ours,
            protocol_fee_bps=settings.protocol_fee_bps,
            period="day",
        ),
        "bids": bids.build(ctx.engine, mode=mode, weth=weth),
    }
    folder = settings.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    problems = 0
    for name, report in reports.items():
        found = list(report.problems)
        problems += len(found)
        for problem in found:
            log.warning("report %s: %s", name, problem)
        target = folder / f"{day}-{name}.html"
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(render.to_html(report, found), encoding="utf-8")
        temporary.replace(target)  # never a half-written report
    return f"reports under {folder} ({day}-*.html), {problems} problem(s)", True


def pin_check(daemon: Daemon) -> Outcome:
    """`bot pins verify`: read every published CID back from each pin target (and the
    gateways), check the bytes against the CID, re-pin to a target that lost it."""
    from bot.pinning import verify_pins_from_settings

    try:
        report = verify_pins_from_settings(daemon.pipeline.app)
    except ValueError as exc:  # a bad pin target list: reported, the daemon goes on
        daemon.note_unavailable("pin_check", f"IPFS pin targets: {exc}")
        return f"not run: {exc}", True
    counts = report.counts()
    for cid_report in report.cids:
        for check in cid_report.unresolved:
            log.error("pin check: %s at %s: %s", cid_report.cid, check.target, check.found)
        for gateway in cid_report.wrong_gateways:
            log.error("pin check: %s via %s served wrong bytes", cid_report.cid, gateway.gateway)
    return (
        f"pins verified: {counts['cids']} CIDs, {counts['lost']} lost, {counts['repaired']} "
        f"repaired, {counts['unresolved']} not repaired, {counts['gateway_wrong_bytes']} wrong "
        "bytes from gateways"
    ), not report.ok


@dataclass(frozen=True)
class JobSpec:
    job_id: str
    func: Callable[[Daemon], Outcome]
    interval_s: float
    run_at_start: bool  # a fresh job store runs it at once; otherwise after one interval


def job_specs(settings: Settings) -> list[JobSpec]:
    return [
        JobSpec("pipeline", pipeline_tick, settings.daemon_tick_interval_s, True),
        JobSpec("sync", sync, settings.daemon_sync_interval_s, True),
        JobSpec("scrape", scrape, settings.daemon_scrape_interval_s, True),
        JobSpec("report", daily_report, settings.daemon_report_interval_s, False),
        JobSpec("pin_check", pin_check, settings.daemon_pin_check_interval_s, False),
    ]


__all__ = ["JobSpec", "job_specs"]
