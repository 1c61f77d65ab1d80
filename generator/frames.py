"""Background writer: every kept iteration becomes a PNG blob and a `Frame` row.

The optimiser hands over each step's frames (still being copied off the GPU); this thread
waits for the copy, encodes the PNGs (prompt, seed, iteration, model and loss in tEXt
chunks), stores them in the blob store, commits the rows, then calls `on_frame_saved` for
each row, e.g. to pin frames to IPFS. PNG encoding and SQLite writes never stall the GPU.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable
from types import TracebackType

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from generator import __version__
from generator.images import encode_png
from generator.optimiser import StepFrames
from generator.prompts import Prompt
from storage.blobstore import BlobStore
from storage.db import session_scope
from storage.models.frame import Frame

log = logging.getLogger(__name__)
FrameHook = Callable[[Frame], None]
_STOP = object()


def describe_prompts(prompts: list[Prompt] | tuple[Prompt, ...]) -> str:
    """Prompts in the reference's `text:weight:stop` syntax, defaults left out."""
    parts = []
    for prompt in prompts:
        text = prompt.text
        if prompt.weight != 1.0 or prompt.stop != -math.inf:
            text += f":{prompt.weight:g}"
        if prompt.stop != -math.inf:
            text += f":{prompt.stop:g}"
        parts.append(text)
    return "|".join(parts)


class FrameWriter:
    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        *,
        model_name: str,
        on_frame_saved: FrameHook | None = None,
        max_pending: int = 8,
    ) -> None:
        self.engine = engine
        self.blobs = blobs
        self.model_name = model_name
        self.on_frame_saved = on_frame_saved
        # Bounded: if PNG writing falls behind, the loop waits instead of filling host memory.
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_pending)
        self._errors: list[BaseException] = []
        self.frames_written = 0
        self.hook_failures = 0
        self.last_loss: dict[int, float] = {}
        self._thread = threading.Thread(target=self._work, name="frame-writer", daemon=True)
        self._thread.start()

    def submit(self, step: StepFrames) -> None:
        if self._errors:
            raise RuntimeError(f"frame writer failed: {self._errors[0]}") from self._errors[0]
        self._queue.put(step)

    def close(self) -> None:
        """Wait until every submitted frame is written; re-raise the first write error."""
        self._queue.put(_STOP)
        self._thread.join()
        if self._errors:
            raise RuntimeError(f"frame writer failed: {self._errors[0]}") from self._errors[0]

    def abort(self) -> None:
        """The batch failed elsewhere: write what is queued, then stop; raise nothing."""
        self._queue.put(_STOP)
        self._thread.join()

    def __enter__(self) -> FrameWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:  # the run failed: still drain what is queued, but keep the original error
            self.abort()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._errors:
                continue  # drain without writing after a failure
            try:
                self._write(item)  # type: ignore[arg-type]
            except BaseException as exc:  # reported by submit()/close() on the caller's thread
                log.exception("frame writer: writing a step failed")
                self._errors.append(exc)

    def _write(self, step: StepFrames) -> None:
        step.wait()
        pixels = step.pixels.numpy()
        losses = step.losses.numpy()
        rows: list[Frame] = []
        for index, job in enumerate(step.jobs):
            loss = float(losses[index])
            prompt = describe_prompts(list(job.prompts))
            height, width = pixels.shape[1:3]
            png = encode_png(
                np.ascontiguousarray(pixels[index]),
                {
                    "prompt": prompt,
                    "seed": str(job.seed),
                    "iteration": str(step.iteration),
                    "model": self.model_name,
                    "loss": repr(loss),
                    "Software": f"nftbot generator {__version__}",
                },
            )
            blob = self.blobs.put_bytes(png)
            rows.append(
                Frame(
                    artwork_id=job.key,
                    iteration=step.iteration,
                    blob_sha256=blob.sha256,
                    loss=loss,
                    prompt=prompt,
                    seed=job.seed,
                    model=self.model_name,
                    width=int(width),
                    height=int(height),
                )
            )
        with session_scope(self.engine) as session:
            saved = [_upsert_frame(session, row) for row in rows]
        for frame in saved:
            self.frames_written += 1
            self.last_loss[frame.artwork_id] = float(frame.loss or 0.0)
            if self.on_frame_saved is not None:
                try:
                    self.on_frame_saved(frame)
                except Exception:  # a failing hook (e.g. IPFS down) must not stop generation
                    self.hook_failures += 1
                    log.exception(
                        "on_frame_saved failed for artwork %s frame %s",
                        frame.artwork_id,
                        frame.iteration,
                    )


def _upsert_frame(session: Session, row: Frame) -> Frame:
    """A rerun with the same seed (after a crash) replaces its frames instead of failing."""
    existing = session.exec(
        select(Frame).where(
            Frame.artwork_id == row.artwork_id,
            Frame.seed == row.seed,
            Frame.iteration == row.iteration,
        )
    ).first()
    if existing is None:
        session.add(row)
        session.flush()
        return row
    for name in ("blob_sha256", "loss", "prompt", "model", "width", "height"):
        setattr(existing, name, getattr(row, name))
    session.add(existing)
    session.flush()
    return existing
