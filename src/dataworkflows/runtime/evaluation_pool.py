"""Untrusted evaluation (expressions, templates) in worker processes with hard limits.

Workflow expressions and report templates come from API callers. jinja2's sandbox
keeps them away from Python's internals, but not from the CPU or the memory: three
nested loops, or ``'x' | center(10**9)``, would hold the event loop that every run of
the engine shares. So anything that needs jinja runs here, in a small pool of worker
processes (``python -m dataworkflows.runtime.evaluation_worker``), each with

- a time limit per evaluation: past it the worker is killed (a C-level operation
  cannot be interrupted any other way) and a fresh one takes its place;
- a memory limit (``RLIMIT_AS``): an allocation beyond it fails in the worker;
- a size limit on what comes back.

Cancelling the caller (a cancelled run, the engine stopping) kills a busy worker too.
Workers start on first use, so a process that evaluates nothing never starts one.
Tasks are named functions of :mod:`dataworkflows.runtime.evaluation_worker`; their
arguments and results travel as msgpack.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import struct
import sys
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Final

import msgspec

from dataworkflows.runtime.logging import get_logger

__all__ = [
    "EvaluationFailed",
    "EvaluationLimit",
    "EvaluationPool",
    "Limits",
]

_log = get_logger(__name__)
_HEADER: Final = struct.Struct(">I")
_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder()
START_TIMEOUT_S: Final = 30.0
READY: Final = b"ready"


class EvaluationFailed(Exception):
    """The evaluation itself failed (an undefined name, a type error...): the message
    says why, as the task put it; ``kind`` is the task's exception class name and
    ``line`` the template line, when it gave one."""

    def __init__(self, message: str, *, kind: str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.line = line


class EvaluationLimit(EvaluationFailed):
    """The evaluation went over a limit (time, memory, size): the message names it."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one evaluation may use."""

    seconds: float = 5.0
    """Wall-clock time of one evaluation (the caller may ask for less)."""
    memory_mb: int = 512
    """Address space of a worker process."""
    result_bytes: int = 8 * 1024 * 1024
    """Size of what an evaluation returns (msgpack)."""
    request_bytes: int = 64 * 1024 * 1024
    """Size of what is sent to a worker (the data an expression reads)."""


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        assert process.stdin is not None
        assert process.stdout is not None
        self.stdin = process.stdin
        self.stdout = process.stdout

    async def call(self, payload: bytes) -> bytes:
        self.stdin.write(_HEADER.pack(len(payload)) + payload)
        await self.stdin.drain()
        (length,) = _HEADER.unpack(await self.stdout.readexactly(_HEADER.size))
        return await self.stdout.readexactly(length)

    def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def reap(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), timeout=5.0)
        # The subprocess transport closes once every pipe is closed: stdin is ours.
        self.stdin.close()
        with contextlib.suppress(Exception):
            await self.stdin.wait_closed()


class EvaluationPool:
    """Up to ``workers`` worker processes, started on demand; close with :meth:`close`.

    ``tasks`` names what the workers can run: task name -> ``"module:function"`` (the
    function takes the task's arguments and returns msgpack-able data).
    """

    def __init__(
        self, *, tasks: Mapping[str, str], workers: int = 2, limits: Limits | None = None
    ) -> None:
        self.limits = limits or Limits()
        self._tasks = [f"{name}={target}" for name, target in tasks.items()]
        self._size = max(1, workers)
        # Idle workers; None stands for a worker that failed to start.
        self._idle: asyncio.Queue[_Worker | None] = asyncio.Queue()
        self._all: set[_Worker] = set()
        # Killed workers not yet waited for: close() waits for them too, so that no
        # process outlives the pool (and its event loop).
        self._dying: set[_Worker] = set()
        self._starting = 0
        self._start_error: BaseException | None = None
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()

    async def run(self, task: str, *args: Any, seconds: float | None = None) -> Any:
        """Run ``task(*args)`` in a worker; its result.

        Raises :class:`EvaluationLimit` when it takes longer than ``seconds`` (at most
        the pool's limit), needs more memory than a worker has or returns too much, and
        :class:`EvaluationFailed` when the task fails.
        """
        if self._closed:
            raise EvaluationFailed("the engine is stopping")
        budget = min(seconds if seconds is not None else self.limits.seconds, self.limits.seconds)
        try:
            payload = _encoder.encode([task, list(args)])
        except (OverflowError, UnicodeEncodeError, TypeError, ValueError) as exc:
            # Integers beyond 64 bits, lone surrogates: data no evaluation can be given.
            raise EvaluationFailed(f"the data cannot be evaluated: {exc}") from None
        if len(payload) > self.limits.request_bytes:
            raise EvaluationLimit(
                f"the data to evaluate is {len(payload):,} bytes; "
                f"at most {self.limits.request_bytes:,}"
            )
        worker = await self._take()
        try:
            answer = await asyncio.wait_for(worker.call(payload), timeout=max(budget, 0.001))
        except TimeoutError:
            self._discard(worker)
            raise EvaluationLimit(
                f"took longer than {budget:g} s (the time limit of an evaluation)"
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError, BrokenPipeError):
            await worker.reap()
            code = worker.process.returncode
            self._discard(worker)
            raise EvaluationLimit(
                f"the evaluation stopped its worker (exit status {code}); it may have "
                f"needed more than {self.limits.memory_mb} MB"
            ) from None
        except BaseException:
            # Cancelled (the run, the engine): whatever it computes is not wanted.
            self._discard(worker)
            raise
        self._idle.put_nowait(worker)
        if len(answer) > self.limits.result_bytes:
            raise EvaluationLimit(
                f"the result is {len(answer):,} bytes; at most {self.limits.result_bytes:,}"
            )
        result = _decoder.decode(answer)
        if "error" in result:
            if result.get("limit"):
                raise EvaluationLimit(str(result["error"]))
            line = result.get("line")
            raise EvaluationFailed(
                str(result["error"]),
                kind=result.get("type"),
                line=line if isinstance(line, int) else None,
            )
        return result.get("ok")

    async def _take(self) -> _Worker:
        """An idle worker: the first to be free, starting one if there are fewer than
        ``workers`` (the caller takes whichever is free first, not the one it started)."""
        while True:
            if self._idle.empty() and len(self._all) + self._starting < self._size:
                self._starting += 1
                self._in_background(self._start_one())
            worker = await self._idle.get()
            if worker is None:
                raise EvaluationFailed(f"an evaluation worker did not start: {self._start_error}")
            if worker.process.returncode is None:
                return worker
            self._discard(worker)

    async def _start_one(self) -> None:
        try:
            worker = await self._start()
        except Exception as exc:
            _log.error("evaluation worker did not start", error=f"{type(exc).__name__}: {exc}")
            self._start_error = exc
            self._idle.put_nowait(None)
        else:
            self._idle.put_nowait(worker)
        finally:
            self._starting -= 1

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _start(self) -> _Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "dataworkflows.runtime.evaluation_worker",
            str(self.limits.memory_mb),
            str(self.limits.result_bytes),
            *self._tasks,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            # The worker's own start-up problems (a broken install) show in our log.
            stderr=None,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            # Its own session: a Ctrl-C in the terminal is the engine's to handle.
            start_new_session=True,
        )
        worker = _Worker(process)
        try:
            # The worker says it is ready once its imports are done: start-up time does
            # not count against the first evaluation's budget.
            (length,) = _HEADER.unpack(
                await asyncio.wait_for(worker.stdout.readexactly(_HEADER.size), START_TIMEOUT_S)
            )
            hello = await asyncio.wait_for(worker.stdout.readexactly(length), START_TIMEOUT_S)
        except BaseException:
            self._discard(worker)
            raise
        if hello != READY:
            self._discard(worker)
            raise EvaluationFailed("an evaluation worker did not start")
        self._all.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        self._all.discard(worker)
        self._dying.add(worker)
        self._in_background(self._reap(worker))

    async def _reap(self, worker: _Worker) -> None:
        await worker.reap()
        self._dying.discard(worker)

    async def close(self) -> None:
        """Stop every worker."""
        self._closed = True
        # Cancelling a start may discard its worker (one more to reap): cancel first.
        while self._background:
            tasks = list(self._background)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._background.difference_update(tasks)
        workers = self._all | self._dying
        for worker in workers:
            worker.kill()
        for worker in workers:
            await worker.reap()
        self._all.clear()
        self._dying.clear()
