"""Bounded work in killable worker processes: a hard wall-clock limit on every item.

Grading runs SymPy on hostile model output, which can hang or eat memory. `WorkerPool`
runs a module-level function in worker processes and kills a worker that overruns its
item's limit (never `signal.alarm`, which only works in the main thread). Outcomes are
values, not exceptions: `ok` (with the return value), `timeout`, or `error` (the function
raised, or the worker died).

Design:
- Workers are forked on request by a warm *spawner* process that this process starts with
  `subprocess` (`spawner.py`, `worker.py`): it works from any process (a daemonic
  `multiprocessing` worker, a child made by `os.fork`, a notebook kernel), never imports
  the parent's `__main__`, and a worker starts in milliseconds with SymPy and
  latex2sympy2 imported and ANTLR's prediction cache warm (`warmup`). Unguarded scripts
  and notebooks work; the function must live in an importable module, not in `__main__`.
- Each worker has one socket to the parent and a status pipe (its sentinel). The parent
  multiplexes them with one `select.poll` object per stream, so a dead worker is noticed
  at once. No Pool/ProcessPoolExecutor: neither can kill one stuck task.
- Time spent starting a worker or importing the function's module in it is not charged to
  any item: a worker says `ready` after start-up and `loaded` after importing a function,
  each within `STARTUP_TIMEOUT`. An item's clock starts when the worker begins it (the
  worker timestamps each result; CLOCK_MONOTONIC is system-wide). Waiting for a free
  worker is not charged either.
- `imap` queues several small items on a busy worker when items are fast (dynamic
  batching: no round trip between items; about `_PIPELINE_BUDGET` seconds of work, at most
  `_PIPELINE_ITEMS`), one at a time when they are slow (so work spreads over all workers),
  and never more than `_PIPELINE_BYTES`, far below the socket buffer, so that a send to a
  stuck worker can never block the parent.
- Items queued behind an item that timed out or killed its worker are sent again.
- Workers live long: they are replaced after a MemoryError, after a timeout or a crash,
  and (rarely) after `max_tasks_per_worker` items; a replacement is another warm fork.
  On Linux each worker caps its address space (`memory_limit`); workers ignore SIGINT
  (Ctrl-C is the parent's business) and die with this process, even when it is SIGKILLed.
- No signal handlers in the parent, nothing started at import, every worker killed by
  `close()`, by garbage collection of the pool, or at interpreter exit (the spawner, shared
  by the pools of a process, is stopped at interpreter exit).

Threads: `call` and `imap` take workers from the pool (FIFO when all are busy) and drive
them in the calling thread; there is no background thread. A running `imap` hands its
workers to waiting `call`s a few items at a time. A call made from inside an `imap` loop
of the same pool gets an extra worker instead of deadlocking. With `burst=N`, a `call`
that finds every worker busy starts a temporary worker (up to N at once, discarded after
its item), so its clock starts at once; `shared_pool()` uses this for `grade()` calls
from many threads.

Caveat: limits are enforced while the stream runs. An `imap` iterator suspended by its
consumer enforces nothing until resumed (overdue items are then killed and reported as
timeouts); close it (or the pool) when you stop early.
"""

from __future__ import annotations

import atexit
import importlib.util
import itertools
import logging
import math
import os
import pickle
import select
import signal
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from mwpbench.errors import ConfigError, GradingError
from mwpbench.grading import spawner
from mwpbench.grading.spawner import STARTUP_TIMEOUT
from mwpbench.grading.worker import CALL, ERR, LOAD, LOADED, OK, READY

__all__ = [
    "DEFAULT_MEMORY_LIMIT", "GRADING_PRELOAD", "GRADING_WARMUP", "NO_WORK", "STARTUP_TIMEOUT",
    "Outcome", "WorkerPool", "shared_pool", "shutdown",
]  # fmt: skip

log = logging.getLogger(__name__)

DEFAULT_MEMORY_LIMIT = 4 * 2**30
"""Address-space cap of each worker on Linux, in bytes (None: no cap)."""
GRADING_PRELOAD = ("mwpbench.grading.compare",)
"""Modules the spawner imports before forking grading workers."""
GRADING_WARMUP = "mwpbench.grading.warmup:warm_up"
"""What the spawner runs once so that every worker starts with warm parsers."""
DEFAULT_MAX_TASKS = 100_000
"""Items after which a worker is replaced by a fresh warm fork (memory hygiene; rare)."""

NO_WORK: tuple[Any, ...] = ("mwpbench.grading.pool.NO_WORK",)
"""An imap item that is not sent to a worker: its Outcome is ok, value None, at once. A
lazy producer yields it to let the stream emit results while it has no work to add."""

_GRACE = 0.5  # seconds between terminate() and kill(), and for a stopped worker to exit
_STARTUP_ATTEMPTS = 3  # start-up failures in one call/imap before it gives up
_PIPELINE_ITEMS = 8  # items queued on one busy worker, at most
_PIPELINE_BUDGET = 0.005  # seconds of expected work queued behind the running item
_PIPELINE_BYTES = 16384  # far below a Unix socket's buffer
_WINDOW_PER_JOB = 256  # items in flight per worker for in-order output (bounds memory)
_PROTOCOL = pickle.HIGHEST_PROTOCOL


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one item."""

    status: Literal["ok", "timeout", "error"]
    value: Any = None  # fn's return value when ok
    error: str | None = None  # "ExcType: message" when fn raised, or why the worker died


def _death_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker died: no exit status"
    if exitcode < 0:
        try:
            return f"worker died: killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"worker died: killed by signal {-exitcode}"
    return f"worker died: exit code {exitcode}"


class _Worker:
    """One worker process and the parent's view of it. Used by one thread at a time."""

    __slots__ = (
        "proc", "conn", "ready", "loading", "loaded", "deadline", "queue", "queued_bytes",
        "dispatched", "granted", "retiring", "clean", "serial", "started", "holder", "extra",
    )  # fmt: skip

    def __init__(self, source: spawner.Spawner, memory_limit: int | None) -> None:
        self.proc, self.conn = source.spawn(memory_limit)
        self.ready = False  # False until the worker says READY
        self.loading: int | None = None  # fn id of an unanswered LOAD
        self.loaded: set[int] = set()
        self.deadline = time.monotonic() + STARTUP_TIMEOUT  # start-up, load, or head item
        self.queue: deque[tuple[int, bytes, float]] = deque()  # (seq, payload, sent at)
        self.queued_bytes = 0
        self.dispatched = 0  # items ever sent: recycle at max_tasks_per_worker
        self.granted = 0  # items sent since the current holder acquired it
        self.retiring = False  # send nothing more; stop once the queue is empty
        self.clean = True  # False while a send/recv is under way (an interrupt corrupts it)
        self.serial = next(_serials)
        self.started = 0.0  # when the head item of the queue started
        self.holder = 0  # thread ident of the stream holding it
        self.extra = False  # started beyond `jobs` for a nested call: never kept idle

    @property
    def idle(self) -> bool:
        return not self.queue and self.loading is None

    def stop(self, *, graceful: bool) -> str:
        """End the process (ask, then terminate, then kill) and say how it ended."""
        proc = self.proc
        if graceful and proc.exitcode is None:
            try:
                self.conn.send(None)
                proc.join(_GRACE)
            except OSError:
                pass
        if proc.exitcode is None:
            proc.terminate()
            proc.join(_GRACE)
        if proc.exitcode is None:
            proc.kill()
            proc.join(4 * _GRACE)
        code = proc.exitcode
        self.conn.close()
        proc.close()
        return _death_reason(code)

    def forget(self) -> None:
        """In a child made by os.fork: close this process's copies of the worker's pipes."""
        for close in (self.conn.close, self.proc.close):
            try:
                close()
            except OSError:
                pass


class WorkerPool:
    """`jobs` worker processes that run module-level functions with a hard time limit.

    `call` is thread-safe; `imap` streams outcomes in input order over all workers. Use as
    a context manager or call `close()`; a pool that is garbage collected or still open
    at interpreter exit kills its workers too. `preload` names modules imported once in
    the spawner before it forks workers (missing ones are logged and skipped); `warmup`
    ("module:function" or None) is called once there after the imports; `memory_limit`
    caps each worker's address space on Linux (bytes, None for no cap).
    """

    def __init__(
        self,
        jobs: int = 1,
        *,
        max_tasks_per_worker: int = DEFAULT_MAX_TASKS,
        preload: Sequence[str] = GRADING_PRELOAD,
        warmup: str | None = GRADING_WARMUP,
        memory_limit: int | None = DEFAULT_MEMORY_LIMIT,
        burst: int = 0,
    ) -> None:
        if not isinstance(jobs, int) or jobs < 1:
            raise ConfigError(f"jobs must be a positive integer, got {jobs!r}")
        if not isinstance(burst, int) or burst < 0:
            raise ConfigError(f"burst must be a non-negative integer, got {burst!r}")
        self._burst = burst
        if not isinstance(max_tasks_per_worker, int) or max_tasks_per_worker < 1:
            raise ConfigError(
                f"max_tasks_per_worker must be a positive integer, got {max_tasks_per_worker!r}"
            )
        if isinstance(preload, str):
            raise ConfigError(f"preload must be a sequence of module names, got {preload!r}")
        if warmup is not None and (not isinstance(warmup, str) or ":" not in warmup):
            raise ConfigError(f'warmup must be "module:function" or None, got {warmup!r}')
        self._jobs = jobs
        self._max_tasks = max_tasks_per_worker
        self._preload = tuple(preload)
        self._warmup = warmup
        self._memory_limit = memory_limit
        self._checked = False  # preload modules looked up (when the first worker starts)
        self._closed = False
        self._fns: dict[Callable[..., Any], tuple[int, bytes]] = {}  # fn -> (id, pickled fn)
        self._reset_state()
        _track(self)

    def _reset_state(self) -> None:
        self._owner = os.getpid()
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._free = self._jobs  # slots with no process yet
        self._waiters: deque[object] = deque()  # FIFO of threads waiting for a worker
        self._workers: set[_Worker] = set()  # every live worker, idle or held
        self._finalizer = weakref.finalize(self, _kill_all, self._workers, self._owner)

    # -- public

    @property
    def jobs(self) -> int:
        return self._jobs

    @property
    def closed(self) -> bool:
        return self._closed

    def call(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Outcome:
        """Run `fn(*args)` in a worker; give up after `timeout` seconds of running."""
        stream = self._stream(fn, (args,), _check_timeout(timeout), 1)
        try:
            return next(stream)
        finally:
            stream.close()

    def imap(
        self, fn: Callable[..., Any], argses: Iterable[tuple[Any, ...]], timeout: float
    ) -> Iterator[Outcome]:
        """`fn(*args)` for each args, over all workers; Outcomes stream in input order.

        `argses` is consumed lazily: at most a few hundred items per worker are in flight.
        Stopping early (break, an exception, Ctrl-C) kills the workers still busy.
        """
        return self._stream(fn, argses, _check_timeout(timeout), self._jobs)

    def start(self, *, wait: bool = True) -> None:
        """Start this process's spawner now (imports and warm-up, about a second once per
        process) instead of on first use, so that the first item does not wait for it.
        With `wait=False` it starts in the background: see `ready`."""
        if self._closed:
            raise GradingError("the worker pool is closed; create a new WorkerPool")
        if wait:
            self._source().start()
        else:
            self._source().launch()

    @property
    def ready(self) -> bool:
        """Workers can be forked at once: the spawner is running and warm."""
        return not self._closed and self._source().ready()

    def close(self) -> None:
        """Stop every worker (busy ones are killed). Idempotent. The process's spawner,
        shared by its pools, runs no items and stays until `shutdown()` or exit."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            busy = [w for w in self._workers if w not in idle]
            self._workers.clear()
            self._cond.notify_all()
        self._finalizer.detach()
        if os.getpid() != self._owner:
            return
        sentinels = []
        for w in busy:  # held by another thread or a suspended imap: kill; the holder reaps
            try:
                sentinels.append(w.proc.sentinel)
                w.proc.kill()
            except ValueError:  # the holder has just closed it
                pass
        for w in idle:
            w.stop(graceful=True)
        if sentinels:  # wait until they are gone, without reading their status
            try:
                _wait_any(sentinels, 4 * _GRACE)
            except (OSError, ValueError):  # pragma: no cover - closed by the holder meanwhile
                pass

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._workers)} running"
        return f"<WorkerPool jobs={self._jobs} {state}>"

    # -- workers

    def _start_worker(self) -> _Worker:
        return _Worker(self._source(), self._memory_limit)

    def _source(self) -> spawner.Spawner:
        """This process's spawner for our preload and warm-up (after `shutdown()` or
        `os.fork`, a new one)."""
        if not self._checked:
            preload = []
            for name in self._preload:
                try:
                    found = importlib.util.find_spec(name) is not None
                except (ImportError, ValueError):
                    found = False
                if found:
                    preload.append(name)
                else:
                    log.warning("preload module %r not found; workers start without it", name)
            self._preload = tuple(preload)
            self._checked = True
        return spawner.spawner_for(self._preload, self._warmup)

    def _acquire(self, *, block: bool) -> _Worker | None:
        """Take an idle worker or a free slot (FIFO among blocked threads)."""
        token = None
        me = threading.get_ident()
        extra = False
        with self._cond:
            try:
                while True:
                    if self._closed:
                        raise GradingError("the worker pool is closed; create a new WorkerPool")
                    first = not self._waiters or self._waiters[0] is token
                    if first and (self._idle or self._free > 0):
                        break
                    if not block:
                        return None
                    if self._free > -self._burst and not self._idle:
                        # every worker is busy: a temporary one keeps this call's clock
                        # honest (limit + about a second, however many threads call)
                        extra = True
                        break
                    if any(w.holder == me for w in self._workers if w not in self._idle):
                        # this thread holds workers in a suspended imap (a call from inside
                        # its loop): waiting would deadlock, so start one more worker
                        extra = True
                        break
                    if token is None:
                        token = object()
                        self._waiters.append(token)
                    self._cond.wait()
            finally:
                if token is not None:
                    self._waiters.remove(token)
                    self._cond.notify_all()
            if self._idle and not extra:
                w = self._idle.pop()
                w.granted = 0
                w.holder = me
                return w
            self._free -= 1  # below zero for an extra worker; its discard restores it
        try:
            w = self._start_worker()
        except BaseException:
            with self._cond:
                self._free += 1
                self._cond.notify_all()
            raise
        w.holder, w.extra = me, extra
        with self._cond:
            if not self._closed:
                self._workers.add(w)
                return w
        w.stop(graceful=False)
        raise GradingError("the worker pool is closed; create a new WorkerPool")

    def _release(self, w: _Worker) -> None:
        """Give back a worker with nothing queued (or retire it)."""
        if w.clean and not w.retiring and not w.extra and w.dispatched < self._max_tasks:
            with self._cond:
                if w in self._workers:
                    self._idle.append(w)
                    self._cond.notify_all()
                    return
        self._discard(w, graceful=w.clean)

    def _discard(self, w: _Worker, *, graceful: bool) -> str:
        """End a worker and free its slot; returns how it ended."""
        reason = w.stop(graceful=graceful)  # before freeing the slot: never > jobs processes
        with self._cond:
            if w in self._workers:
                self._workers.discard(w)
                self._free += 1
            self._cond.notify_all()
        return reason

    def _register(self, fn: Callable[..., Any]) -> tuple[int, bytes]:
        with self._cond:
            known = self._fns.get(fn)
            if known is None:
                try:
                    data = pickle.dumps(fn, _PROTOCOL)
                except Exception as exc:
                    raise TypeError(
                        f"{fn!r} cannot be sent to a worker process ({exc}); "
                        "pass a function defined at module level"
                    ) from exc
                known = self._fns[fn] = (len(self._fns), data)
            return known

    def _after_fork_in_child(self) -> None:
        # The parent's workers are not ours: forget them (never kill them), start afresh.
        self._finalizer.detach()
        for w in list(self._workers):
            w.forget()
        self._reset_state()

    # -- the engine behind call and imap

    def _stream(
        self,
        fn: Callable[..., Any],
        argses: Iterable[tuple[Any, ...]],
        timeout: float,
        max_workers: int,
    ) -> Generator[Outcome, None, None]:
        if self._closed:
            raise GradingError("the worker pool is closed; create a new WorkerPool")
        fn_id, fn_data = self._register(fn)
        return _Stream(self, fn, fn_id, fn_data, iter(argses), timeout, max_workers).run()


class _Stream:
    """The state of one call/imap: pending items, workers held, results to put in order."""

    def __init__(
        self,
        pool: WorkerPool,
        fn: Callable[..., Any],
        fn_id: int,
        fn_data: bytes,
        items: Iterator[tuple[Any, ...]],
        timeout: float,
        max_workers: int,
    ) -> None:
        self.pool, self.fn, self.fn_id, self.fn_data = pool, fn, fn_id, fn_data
        self.items, self.timeout, self.max_workers = items, timeout, max_workers
        self.window = _WINDOW_PER_JOB * max_workers
        self.pending: deque[tuple[int, bytes]] = deque()  # (seq, payload) not yet sent
        self.results: dict[int, Outcome] = {}
        self.next_seq = 0
        self.next_out = 0
        self.exhausted = False
        self.mine: list[_Worker] = []
        self.startup_failures = 0
        self.service: float | None = None  # moving average of seconds per item
        self._poll_key: list[int] = []
        self._poller: Any = None
        self._poll_fds: dict[int, tuple[_Worker, bool]] = {}

    def run(self) -> Generator[Outcome, None, None]:
        pool, mine, results = self.pool, self.mine, self.results
        try:
            while True:
                self._top_up()
                yielding = bool(pool._waiters)
                done_sending = self.exhausted and not self.pending
                for w in [w for w in mine if w.idle]:
                    if (
                        w.retiring
                        or done_sending
                        or (yielding and (w.granted >= _PIPELINE_ITEMS or not self.pending))
                    ):
                        mine.remove(w)
                        pool._release(w)
                while self.next_out in results:
                    outcome = results.pop(self.next_out)
                    self.next_out += 1
                    yield outcome
                    self._top_up()
                if self.exhausted and self.next_out == self.next_seq:
                    return
                if self.pending:
                    self._acquire_workers(yielding)
                    self._dispatch(yielding)
                if mine:
                    self._wait()
        finally:
            for w in mine:
                if w.queue or not w.clean:
                    pool._discard(w, graceful=False)
                else:
                    pool._release(w)
            mine.clear()

    def _top_up(self) -> None:
        limit = _PIPELINE_ITEMS * self.max_workers
        while (
            not self.exhausted
            and len(self.pending) < limit
            and self.next_seq - self.next_out < self.window
        ):
            try:
                args = next(self.items)
            except StopIteration:
                self.exhausted = True
                return
            if args is NO_WORK:
                self.results[self.next_seq] = Outcome("ok")
                self.next_seq += 1
                continue
            payload = pickle.dumps(tuple(args), _PROTOCOL)
            self.pending.append((self.next_seq, payload))
            self.next_seq += 1

    def _acquire_workers(self, yielding: bool) -> None:
        pool, mine = self.pool, self.mine
        if not mine:
            w = pool._acquire(block=True)
            assert w is not None
            mine.append(w)
        while len(mine) < self.max_workers and not yielding and (pool._idle or pool._free > 0):
            w = pool._acquire(block=False)
            if w is None:
                break
            mine.append(w)

    def _dispatch(self, yielding: bool) -> None:
        pending, timeout, max_tasks = self.pending, self.timeout, self.pool._max_tasks
        now = time.monotonic()
        service = self.service
        depth = 1 if service is None else 1 + int(_PIPELINE_BUDGET / max(service, 1e-6))
        depth = min(_PIPELINE_ITEMS, depth)
        for w in self.mine:
            if not pending:
                return
            if not w.ready or w.loading is not None or w.retiring or not w.clean:
                continue
            if self.fn_id not in w.loaded:
                try:
                    w.conn.send((LOAD, self.fn_id, self.fn_data))
                except OSError:  # dead already: the sentinel reports it
                    continue
                w.loading = self.fn_id
                w.deadline = now + max(timeout, STARTUP_TIMEOUT)
                continue
            queue = w.queue
            if len(queue) > depth // 2:  # refill when half empty: fewer, fuller messages
                continue
            batch = []
            while pending and (not yielding or w.granted < _PIPELINE_ITEMS):
                seq, payload = pending[0]
                if queue and (
                    len(queue) >= depth or w.queued_bytes + len(payload) > _PIPELINE_BYTES
                ):
                    break
                pending.popleft()
                if not queue:
                    w.started = now
                    w.deadline = now + timeout
                queue.append((seq, payload, now))  # before sending: an interrupt kills w
                batch.append(payload)
                w.queued_bytes += len(payload)
                w.dispatched += 1
                w.granted += 1
                if w.dispatched >= max_tasks:
                    w.retiring = True
                    break
            if batch:
                try:
                    w.conn.send((CALL, self.fn_id, batch))
                except OSError:  # dead already: these items never reached it
                    for _ in batch:
                        seq, payload, _sent = queue.pop()
                        w.queued_bytes -= len(payload)
                        pending.appendleft((seq, payload))
                    # the sentinel reports the death

    def _wait(self) -> None:
        mine = self.mine
        deadline = min(w.deadline for w in mine)
        if deadline == math.inf:
            wait_for = None
        else:
            wait_for = max(0.0, deadline - time.monotonic())
        for w, exited in self._ready(wait_for):
            if w in mine:
                if exited:
                    self._receive(w, exited=True)
                else:
                    self._receive_one(w)
        now = time.monotonic()
        for w in list(mine):
            if w.deadline <= now and w in mine:
                self._receive(w)  # a result may have arrived just now
                if w in mine and w.deadline <= time.monotonic():
                    self._overdue(w)

    def _ready(self, wait_for: float | None) -> list[tuple[_Worker, bool]]:
        """Workers with a message (False) or an exit (True) to handle, within `wait_for` s."""
        mine = self.mine
        key = [w.serial for w in mine]
        if key != self._poll_key:  # a persistent poll object: no selector per item
            self._poller = select.poll()
            self._poll_fds = {}
            for w in mine:
                for fd, exited in ((w.conn.fileno(), False), (w.proc.sentinel, True)):
                    self._poller.register(fd, select.POLLIN)
                    self._poll_fds[fd] = (w, exited)
            self._poll_key = key
        ms = -1 if wait_for is None else math.ceil(wait_for * 1000)
        while True:
            try:
                events = self._poller.poll(ms)
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries already
                continue
        return [self._poll_fds[fd] for fd, _ in events]

    def _receive_one(self, w: _Worker) -> None:
        try:
            w.clean = False
            msg = w.conn.recv()
            w.clean = True
        except (EOFError, OSError):
            self._died(w)
            return
        self._handle(w, msg)

    def _receive(self, w: _Worker, *, exited: bool = False) -> None:
        """Handle every message `w` has sent, then its death if it `exited`."""
        conn = w.conn
        try:
            while conn.poll(0):
                w.clean = False
                msg = conn.recv()
                w.clean = True
                self._handle(w, msg)
        except (EOFError, OSError):
            self._died(w)
            return
        if exited:
            self._died(w)

    def _handle(self, w: _Worker, msg: tuple[Any, ...]) -> None:
        tag = msg[0]
        if tag == OK or tag == ERR:
            seq, payload, _sent = w.queue.popleft()
            w.queued_bytes -= len(payload)
            if tag == OK:
                self.results[seq] = Outcome("ok", msg[1])
            else:
                self.results[seq] = Outcome("error", error=msg[1])
                if msg[1].startswith("MemoryError"):
                    w.retiring = True  # it may be in a bad state: recycle it
            took = max(0.0, msg[2] - w.started)
            self.service = took if self.service is None else 0.8 * self.service + 0.2 * took
            if w.queue:  # the next item started when this one ended
                w.started = min(max(msg[2], w.queue[0][2]), time.monotonic())
                w.deadline = w.started + self.timeout
            else:
                w.deadline = math.inf
        elif tag == READY:
            w.ready = True
            w.deadline = math.inf
        elif tag == LOADED:
            fn_id, error = msg[1], msg[2]
            w.loading = None
            w.deadline = math.inf
            if error is None:
                w.loaded.add(fn_id)
            elif fn_id == self.fn_id:
                raise GradingError(
                    f"a worker process cannot import {self.fn!r}: {error}. Define the "
                    "function at module level in an importable module (not in a notebook "
                    "or __main__)."
                )

    def _died(self, w: _Worker) -> None:
        self.mine.remove(w)
        starting = not w.ready or w.loading is not None
        reason = self.pool._discard(w, graceful=False)
        if w.queue:
            seq = w.queue[0][0]
            self.results[seq] = Outcome("error", error=reason)
            self._requeue(w, skip=1)
        elif starting:
            self._startup_failed(f"{reason} while starting")

    def _overdue(self, w: _Worker) -> None:
        self.mine.remove(w)
        starting = not w.ready or w.loading is not None
        self.pool._discard(w, graceful=False)
        if w.queue:
            self.results[w.queue[0][0]] = Outcome("timeout")
            self._requeue(w, skip=1)
        elif starting:
            self._startup_failed(f"no answer within {STARTUP_TIMEOUT:g} s while starting")

    def _requeue(self, w: _Worker, *, skip: int) -> None:
        rest = [(seq, payload) for seq, payload, _sent in list(w.queue)[skip:]]
        w.queue.clear()
        if rest:
            self.pending = deque(sorted([*rest, *self.pending], key=lambda item: item[0]))

    def _startup_failed(self, reason: str) -> None:
        self.startup_failures += 1
        if self.startup_failures >= _STARTUP_ATTEMPTS:
            raise GradingError(
                f"grading worker processes keep failing to start ({reason}); the workers' "
                f"tracebacks are on stderr; check that the preload modules "
                f"{self.pool._preload} import cleanly"
            )


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r}")
    return float(timeout)


_serials = itertools.count()


def _kill_all(workers: set[_Worker], owner: int) -> None:
    """Finalizer of a pool that was never closed (garbage collected, or interpreter exit)."""
    if os.getpid() != owner:
        return
    for w in list(workers):
        try:
            w.proc.kill()  # the spawner reaps it
        except (ValueError, OSError):  # already closed
            pass


def _wait_any(fds: list[int], timeout: float) -> None:
    """Wait until one of `fds` is readable, or `timeout` seconds."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    poller.poll(math.ceil(timeout * 1000))


# ---------------------------------------------------------------- process-wide state

_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
_shared: WorkerPool | None = None
_shared_lock = threading.Lock()
_track_lock = threading.Lock()
_hooks_installed = False


def _track(pool: WorkerPool) -> None:
    global _hooks_installed
    with _track_lock:
        _pools.add(pool)
        if not _hooks_installed:
            if hasattr(os, "register_at_fork"):
                os.register_at_fork(after_in_child=_after_fork_in_child)
            atexit.register(shutdown)
            _hooks_installed = True


def _after_fork_in_child() -> None:
    global _shared, _shared_lock, _track_lock
    _shared_lock = threading.Lock()  # another thread may have held them at fork time
    _track_lock = threading.Lock()
    _shared = None  # re-created on first use
    for pool in list(_pools):
        pool._after_fork_in_child()
    spawner.after_fork_in_child()


def shutdown() -> None:
    """Close every pool of this process (the shared one too) and stop its spawners: no
    grading process is left. Runs at interpreter exit; grading later starts afresh."""
    for pool in list(_pools):
        if pool._owner == os.getpid():
            pool.close()
    spawner.close_all()


SHARED_BURST = 14
"""Temporary extra workers the shared pool may start while all its workers are busy."""


def shared_pool() -> WorkerPool:
    """The process-wide pool for single `grade()` calls (created on first use, 2 kept
    workers plus up to SHARED_BURST temporary ones when many threads call at once, closed at
    interpreter exit, re-created in a child after `os.fork`)."""
    global _shared
    pool = _shared
    if pool is not None and not pool.closed:
        return pool
    with _shared_lock:
        if _shared is None or _shared.closed:
            _shared = WorkerPool(jobs=min(2, os.cpu_count() or 1), burst=SHARED_BURST)
        return _shared
