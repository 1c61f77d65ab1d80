"""Generation on a Ray cluster: one actor per GPU (CPU actors where there is none).

The coordinator (this process) keeps the database, the blob store and the network; the
actors (`generator.worker.GeneratorWorker`) keep only the models, loaded once each, from
weights the coordinator put in Ray's object store (or from a weights dir their hosts share).
Each idle actor is given the coordinator's next batch; its frames come back step by step
through a streaming actor call, and the coordinator writes them as the in-process path does.

Failures, and what the coordinator does about them:
- an actor dies (process killed, node lost: `RayActorError`): its batch goes back to the
  coordinator (`WorkerLost`), which gives it to another actor or fails it into the retry
  path; a new actor takes the dead one's place (at most `MAX_RESTARTS` times in a row);
- an actor sends no step for `actor_timeout_s` (hung, or its node cut off): it is killed and
  counts as lost;
- the batch itself raises (a CUDA out-of-memory error, bad input): the actor stays, the
  coordinator decides (halves, or the failure recorded);
- no actor is left and none can start: the remaining batches fail with `NoWorkers`.

Ray is an optional extra (`pip install 'nftbot[ray]'`); without it this module still imports
and `RayExecutor` raises `RayNotInstalled`, one line naming the extra.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from generator.batching import CPU_BATCH
from generator.executor import (
    Batch,
    Coordinator,
    GenerationExecutor,
    NoWorkers,
    WorkerLost,
)
from generator.loading import WeightBytes
from generator.optimiser import GenerationJob, GenerationSettings, StepFrames
from generator.worker import GeneratorWorker, WeightsInDir, WorkerInfo

log = logging.getLogger(__name__)
NAMESPACE = "nftbot"
MAX_RESTARTS = 3  # new actors in a row for one slot (lost or failed to start), then given up
POLL_S = 1.0  # how often the coordinator looks at the deadlines while it waits


class RayNotInstalled(ImportError):
    def __init__(self) -> None:
        super().__init__(
            "BOT_EXECUTOR=ray needs Ray, which is not installed: pip install 'nftbot[ray]'"
        )


class ExecutorUnavailable(RuntimeError):
    """The cluster cannot be reached, or no actor could start (one line: what and why)."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayNotInstalled() from None
    return ray


@dataclass(frozen=True)
class RayOptions:
    address: str = "local"  # a running cluster (host:port, ray://host:port, auto) or local
    device: str = "auto"  # auto: GPU actors where the cluster has GPUs; cpu; cuda
    cpu_actors: int = 1  # CPU actors when the cluster has no GPU (or device=cpu)
    cpus_per_actor: int = 1  # torch threads, and the CPUs Ray reserves, per CPU actor
    actor_timeout_s: float = 600.0  # no step (or no start) for this long: the actor is lost
    local_object_store_mb: int | None = None  # address=local: Ray's shared memory store


@dataclass
class _Slot:
    """One actor position: the actor in it now, and how often it failed in a row."""

    index: int
    actor: Any = None
    info: WorkerInfo | None = None
    failures: int = 0
    deadline: float = 0.0  # while starting: give up on it after this (monotonic)

    @property
    def name(self) -> str:
        where = f" on {self.info.host} pid {self.info.pid}" if self.info else ""
        return f"Ray worker {self.index}{where}"


@dataclass
class _Running:
    batch: Batch
    slot: _Slot
    deadline: float
    broken: BaseException | None = None  # the coordinator refused a step: drain, then fail
    steps: int = field(default=0)


class RayExecutor(GenerationExecutor):
    def __init__(self, weights: WeightBytes | WeightsInDir, options: RayOptions) -> None:
        self._ray = ray = import_ray()
        self.options = options
        self._owns_connection = False
        self._last_failure = ""
        if not ray.is_initialized():
            self._connect()
            self._owns_connection = True
        try:
            self._plan_actors()
            self._actor_class = ray.remote(GeneratorWorker)
            # Put once, fetched by every actor (and by replacements) from the object store.
            self._weights = ray.put(weights)
            self._slots = [_Slot(index) for index in range(self.workers)]
            self._starting: dict[Any, _Slot] = {}
            self._idle: list[_Slot] = []
            self._assigned: dict[int, Any] = {}  # artwork id -> the actor running it now
            for slot in self._slots:
                self._start(slot)
            first = self._wait_for_a_worker()
        except BaseException:
            self.close()
            raise
        self.label = first.label
        self.smoke_test = first.smoke_test
        kind = "GPU" if self._use_gpu else f"CPU ({options.cpus_per_actor} thread(s) each)"
        self.description = f"Ray at {options.address}: {self.workers} {kind} actor(s)"

    # --- the cluster and the actors ---------------------------------------------------------
    def _connect(self) -> None:
        ray, options = self._ray, self.options
        try:
            if options.address == "local":
                gpus = 0
                if options.device != "cpu" and torch.cuda.is_available():
                    gpus = torch.cuda.device_count()
                cpus = options.cpu_actors * options.cpus_per_actor
                start_local_cluster(
                    ray,
                    num_cpus=max(cpus, 1) if gpus == 0 else max(os.cpu_count() or 1, gpus),
                    num_gpus=gpus,
                    object_store_mb=options.local_object_store_mb,
                )
            else:
                ray.init(address=options.address, namespace=NAMESPACE)
        except Exception as exc:
            raise ExecutorUnavailable(
                f"cannot start or reach the Ray cluster at {options.address!r} "
                f"(BOT_RAY_ADDRESS): {_one_line(exc)}"
            ) from exc

    def _plan_actors(self) -> None:
        resources = self._ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        device = self.options.device
        if device.startswith("cuda") and gpus == 0:
            raise ExecutorUnavailable(
                f"BOT_GENERATOR_DEVICE={device} but the Ray cluster at {self.options.address!r} "
                f"has no GPU (it has {resources.get('CPU', 0):g} CPU)"
            )
        self._use_gpu = device != "cpu" and gpus > 0
        if self._use_gpu:
            self.workers = gpus
            self._actor_options = {"num_gpus": 1, "num_cpus": 1}
        else:
            self.workers = self.options.cpu_actors
            self._actor_options = {"num_gpus": 0, "num_cpus": self.options.cpus_per_actor}

    def _start(self, slot: _Slot) -> None:
        device = "cuda" if self._use_gpu else "cpu"  # a GPU actor sees only its own GPU
        threads = 0 if self._use_gpu else self.options.cpus_per_actor
        slot.actor = self._actor_class.options(**self._actor_options, max_restarts=0).remote(
            self._weights, device, threads
        )
        slot.info = None
        slot.deadline = time.monotonic() + self.options.actor_timeout_s
        self._starting[slot.actor.describe.remote()] = slot

    def _started(self, ref: Any) -> None:
        slot = self._starting.pop(ref)
        try:
            slot.info = self._ray.get(ref)
        except Exception as exc:
            self._slot_failed(slot, f"could not start: {_one_line(exc)}")
            return
        log.info(
            "%s ready (%s, %s)",
            slot.name,
            slot.info.device if slot.info else "?",
            slot.info.label if slot.info else "?",
        )
        self._idle.append(slot)

    def _slot_failed(self, slot: _Slot, reason: str) -> None:
        """The slot's actor is gone (or never came up): replace it, or give the slot up."""
        self._kill(slot)
        slot.failures += 1
        if slot.failures <= MAX_RESTARTS:
            log.warning("%s %s; starting a new one", slot.name, reason)
            self._start(slot)
        else:
            log.error("%s %s; giving up on it after %d failures", slot.name, reason, slot.failures)
            slot.actor = None
        self._last_failure = f"{slot.name} {reason}"

    def _kill(self, slot: _Slot) -> None:
        if slot.actor is not None:
            try:
                self._ray.kill(slot.actor)
            except Exception:  # already dead, or the cluster is gone
                log.debug("killing %s failed", slot.name, exc_info=True)

    def _wait_for_a_worker(self) -> WorkerInfo:
        """Block until one actor has its models loaded (the label comes from it), so a
        configuration that cannot work fails here with its reason, before any batch."""
        while not self._idle:
            if not self._starting:
                raise ExecutorUnavailable(f"no Ray worker could start: {self._last_failure}")
            ready, _ = self._ray.wait(list(self._starting), num_returns=1, timeout=POLL_S)
            for ref in ready:
                self._started(ref)
            self._check_starting()
        info = self._idle[0].info
        assert info is not None
        return info

    def _check_starting(self) -> None:
        now = time.monotonic()
        for ref, slot in list(self._starting.items()):
            if now > slot.deadline:
                del self._starting[ref]
                free = self._ray.available_resources()
                self._slot_failed(
                    slot,
                    f"did not start within {self.options.actor_timeout_s:g} s "
                    f"(it needs {self._actor_options}; free in the cluster: "
                    f"{free.get('CPU', 0):g} CPU, {free.get('GPU', 0):g} GPU)",
                )

    def _replenish(self) -> None:
        """Slots left empty (by an aborted run, or given up after failing in a row) get an
        actor again: a daemon's next pass tries the cluster afresh."""
        for slot in self._slots:
            if slot.actor is None:
                slot.failures = 0
                self._start(slot)

    # --- GenerationExecutor -------------------------------------------------------------------
    def batch_size(
        self,
        pending: int,
        probe_job: GenerationJob,
        settings: GenerationSettings,
        requested: int | None = None,
    ) -> int:
        if requested is not None:
            return max(1, min(requested, pending))
        if self._use_gpu and self._idle:  # what fits one actor's GPU, measured there
            size = int(
                self._ray.get(
                    self._idle[0].actor.batch_size.remote(pending, probe_job, settings, None)
                )
            )
        else:
            size = min(pending, CPU_BATCH)
        # Enough batches for every actor to have one.
        return max(1, min(size, -(-pending // max(1, self.workers))))

    def run(self, settings: GenerationSettings, coordinator: Coordinator) -> None:
        ray = self._ray
        self._replenish()
        running: dict[Any, _Running] = {}
        try:
            while True:
                while self._idle:
                    batch = coordinator.next_batch()
                    if batch is None:
                        break
                    slot = self._idle.pop(0)
                    stream = slot.actor.run.options(num_returns="streaming").remote(
                        batch.jobs, settings
                    )
                    deadline = time.monotonic() + self.options.actor_timeout_s
                    running[stream] = _Running(batch, slot, deadline)
                    self._assigned.update(dict.fromkeys(batch.keys, slot.actor))
                if not running and not self._starting:
                    if not self._idle:  # every slot given up: nothing can run the rest
                        self._fail_remaining(coordinator)
                    return
                waiting = [*running, *self._starting]
                ready, _ = ray.wait(waiting, num_returns=1, timeout=POLL_S)
                for item in ready:
                    if item in self._starting:
                        self._started(item)
                    else:
                        self._advance(item, running, coordinator)
                self._check_running(running, coordinator)
                self._check_starting()
        except BaseException:
            # Stopped by an error the coordinator raised (the store failed) or by Ctrl-C: the
            # batches in work are not wanted any more; their actors are stopped (and replaced
            # at the next run).
            for item in running.values():
                self._unassign(item.batch)
                self._kill(item.slot)
                item.slot.actor = None
            raise

    def _advance(self, stream: Any, running: dict[Any, _Running], coordinator: Coordinator) -> None:
        """The stream has its next step, its end, or its error ready."""
        ray = self._ray
        item = running.pop(stream)
        try:
            ref = next(stream)
        except StopIteration:
            self._unassign(item.batch)
            item.slot.failures = 0
            self._idle.append(item.slot)
            if item.broken is not None:
                coordinator.failed(item.batch, item.broken)
            else:
                coordinator.finished(item.batch)
            return
        try:
            iteration, pixels, losses = ray.get(ref)
        except ray.exceptions.RayActorError as exc:
            self._unassign(item.batch)
            reason = f"was lost: {_one_line(exc)}"
            lost = WorkerLost(f"{item.slot.name} {reason}")
            self._slot_failed(item.slot, reason)
            coordinator.failed(item.batch, lost)
            return
        except ray.exceptions.RayTaskError as exc:  # the batch raised; the actor is fine
            self._unassign(item.batch)
            self._idle.append(item.slot)
            cause = exc.cause if isinstance(exc.cause, BaseException) else exc
            coordinator.failed(item.batch, item.broken or cause)
            return
        item.deadline = time.monotonic() + self.options.actor_timeout_s
        item.steps += 1
        running[stream] = item
        if item.broken is None:
            step = StepFrames(
                iteration,
                item.batch.jobs,
                # Copies: the arrays Ray returns are read-only views of its shared memory.
                torch.from_numpy(np.array(pixels)),
                torch.from_numpy(np.array(losses)),
            )
            try:
                coordinator.step(item.batch, step)
            except Exception as exc:  # keep draining the stream; fail the batch at its end
                item.broken = exc

    def _check_running(self, running: dict[Any, _Running], coordinator: Coordinator) -> None:
        now = time.monotonic()
        for stream, item in list(running.items()):
            if now <= item.deadline:
                continue
            del running[stream]
            self._unassign(item.batch)
            reason = (
                f"sent no frame for {self.options.actor_timeout_s:g} s (BOT_RAY_ACTOR_TIMEOUT_S) "
                "and was stopped"
            )
            lost = WorkerLost(f"{item.slot.name} {reason}")
            self._slot_failed(item.slot, reason)
            coordinator.failed(item.batch, lost)

    def _unassign(self, batch: Batch) -> None:
        for key in batch.keys:
            self._assigned.pop(key, None)

    def _fail_remaining(self, coordinator: Coordinator) -> None:
        error = NoWorkers(f"no Ray worker is left: {self._last_failure}")
        while (batch := coordinator.next_batch()) is not None:
            coordinator.failed(batch, error)

    def actor_running(self, artwork_id: int) -> Any:
        """The actor handle working on `artwork_id` now, or None (logs, tests; safe to call
        from another thread)."""
        return self._assigned.get(artwork_id)

    def close(self) -> None:
        """Stop the actors; disconnect (and stop the local cluster this executor started)."""
        for slot in getattr(self, "_slots", []):
            self._kill(slot)
            slot.actor = None
        if self._owns_connection:
            self._ray.shutdown()
            self._owns_connection = False


def start_local_cluster(
    ray: Any,
    *,
    num_cpus: int,
    num_gpus: int = 0,
    object_store_mb: int | None = None,
    namespace: str = NAMESPACE,
    log_to_driver: bool = True,
) -> str:
    """Start a private single-machine Ray cluster for this process, reachable on 127.0.0.1
    only and without the dashboard; returns its GCS address. `ray.shutdown()` stops it.

    On Linux, Ray 2.60 replaces a loopback node address with the host's own and then listens
    on every interface. With its multi-node mode off (what it does on macOS and Windows, where
    clusters are single-machine) the node is 127.0.0.1 and every server listens there only.
    That mode is a flag Ray reads while it starts; it is set just for this start (and for the
    processes the start spawns, through the environment) and restored afterwards.
    """
    constants = ray._private.ray_constants
    variable = constants.ENABLE_RAY_CLUSTERS_ENV_VAR
    saved_flag, saved_env = constants.ENABLE_RAY_CLUSTER, os.environ.get(variable)
    constants.ENABLE_RAY_CLUSTER = False
    os.environ[variable] = "0"
    try:
        ray.init(
            address="local",
            namespace=namespace,
            num_cpus=num_cpus,
            num_gpus=num_gpus,
            include_dashboard=False,
            object_store_memory=object_store_mb * 2**20 if object_store_mb else None,
            log_to_driver=log_to_driver,
        )
    finally:
        constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(variable, None)
        else:
            os.environ[variable] = saved_env
    address = str(ray.get_runtime_context().gcs_address)
    if not address.startswith("127.0.0.1:"):
        log.warning("the local Ray cluster is not on loopback: its GCS is at %s", address)
    return address


def _one_line(exc: BaseException) -> str:
    """Ray's errors carry whole tracebacks; the last line with text says what happened."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else exc.__class__.__name__
    return text if len(text) <= 500 else text[:497] + "..."
