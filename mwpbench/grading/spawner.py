"""Start warm grading workers from any process: the parent's side of `worker.py`.

`multiprocessing` refuses to start children from a daemonic process (a `Pool` worker, a
DataLoader worker, an RL reward worker), re-imports the parent's `__main__`, and its fork
server cannot be reached from a child made by `os.fork`. So a process that grades starts
one *spawner* with `subprocess` (a fresh interpreter running `worker.main`, allowed from
any process), which imports SymPy and latex2sympy2, runs the warm-up, and then forks warm
workers on request in milliseconds. See `worker.py` for the protocol.

One spawner per process and (preload, warmup) pair, started on first use (never at
import), reused by every pool of the process, closed at interpreter exit. It dies with
this process however this process ends (lifeline pipe; PR_SET_PDEATHSIG on Linux when the
starting thread lives as long as the process), and takes its workers with it. After
`os.fork` the child forgets the parent's spawner (without touching it) and starts its own.

Needs `os.fork` and Unix sockets: Linux and macOS.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from mwpbench.errors import GradingError
from mwpbench.grading.worker import HEADER, REPLY, REQUEST

__all__ = ["STARTUP_TIMEOUT", "Process", "Spawner", "spawner_for"]

log = logging.getLogger(__name__)

STARTUP_TIMEOUT = 60.0
"""Seconds a spawner may take to import and warm up, or a worker to start."""

_BOOT = (
    "import sys, json; sys.path[:] = json.loads(sys.argv[1])['path']; "
    "from mwpbench.grading.worker import main; main()"
)
_HELLO_LIMIT = 1 << 20


class Process:
    """The parent's handle on one worker (a child of the spawner, not of this process).

    `sentinel` is the read end of the worker's status pipe: readable once the spawner has
    reaped the worker and written its exit status, or at end-of-file if the spawner died.
    """

    __slots__ = ("pid", "_fd", "_code", "_final")

    def __init__(self, pid: int, status_fd: int) -> None:
        self.pid = pid
        self._fd: int | None = status_fd
        self._code: int | None = None
        self._final = False  # the status was read, or the spawner is gone

    @property
    def sentinel(self) -> int:
        if self._fd is None:
            raise ValueError("process handle is closed")
        return self._fd

    @property
    def exitcode(self) -> int | None:
        """Exit code (negative: killed by that signal); None while running or unknown."""
        self.join(0)
        return self._code

    def join(self, timeout: float | None = None) -> None:
        """Wait up to `timeout` seconds (None: forever) for the exit status."""
        if self._final or self._fd is None:
            return
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        if not poller.poll(-1 if timeout is None else max(0, int(timeout * 1000))):
            return
        data = os.read(self._fd, REPLY.size)
        self._final = True
        if len(data) == REPLY.size:
            (self._code,) = REPLY.unpack(data)

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> None:
        if self._fd is None:
            raise ValueError("process handle is closed")
        if self._code is None:  # not reaped yet (after a reap the pid may be reused)
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class Spawner:
    """One warm spawner process. `spawn()` is thread-safe; a dead spawner is restarted."""

    def __init__(self, preload: tuple[str, ...], warmup: str | None) -> None:
        self.preload, self.warmup = preload, warmup
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._starting: float | None = None  # launched at this time, start-up message not read
        self.started_in = 0.0  # seconds the last start-up took (import + warm-up)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def spawn(self, memory_limit: int | None) -> tuple[Process, Connection]:
        """A new worker (forked from the warm spawner) and the parent's end of its socket."""
        with self._lock:
            for attempt in (1, 2):
                self._ensure_started()
                try:
                    return self._request(memory_limit)
                except _Gone as exc:
                    self._stop(kill=True)
                    if attempt == 2:
                        raise GradingError(
                            f"the grading worker spawner stopped answering ({exc}); its "
                            "traceback, if any, is on stderr"
                        ) from None
                    log.warning("grading worker spawner died (%s); starting a new one", exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def start(self) -> None:
        """Start the spawner now if it is not running (otherwise on the first spawn)."""
        with self._lock:
            self._ensure_started()

    def launch(self) -> None:
        """Start the spawner process without waiting for it to be warm: the caller goes on
        with other work, and the next `spawn()` or `start()` waits for the rest."""
        with self._lock:
            if self._sock is None:
                self._launch()

    def ready(self) -> bool:
        """Running and warm, or its start-up message is waiting to be read (no waiting)."""
        with self._lock:
            if self._sock is None:
                return False
            if self._starting is None:
                return True
            poller = select.poll()  # not select(): descriptors past 1024 are fine
            poller.register(self._sock.fileno(), select.POLLIN)
            return bool(poller.poll(0))

    def close(self) -> None:
        """Stop the spawner; it kills the workers it still has. Idempotent."""
        with self._lock:
            self._stop(kill=False)

    def forget(self) -> None:
        """In a child made by os.fork: drop the parent's spawner without touching it."""
        if self._sock is not None:
            self._sock.close()  # this process's copy only (never shutdown())
        if self._proc is not None:
            _abandoned.append(self._proc)  # never waited on or collected here
        self._proc, self._sock = None, None
        self._lock = threading.Lock()

    # -- internals (called with the lock held)

    def _ensure_started(self) -> None:
        if self._sock is None:
            self._launch()
        if self._starting is not None:
            self._await_start()

    def _launch(self) -> None:
        executable = sys.executable
        if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
            raise GradingError(
                "grading workers need os.fork and Unix sockets (Linux or macOS); on Windows "
                "run mwpbench under WSL"
            )
        if not executable:
            raise GradingError(
                "cannot start grading workers: sys.executable is not set in this interpreter"
            )
        lifeline = _lifeline_read_end()
        parent_end, child_end = socket.socketpair()
        config = {
            "path": [os.path.abspath(p) if p == "" else p for p in sys.path if isinstance(p, str)],
            "parent": os.getpid(),
            "die_with_parent": threading.current_thread() is threading.main_thread(),
            "ctl": child_end.fileno(),
            "lifeline": lifeline,
            "preload": list(self.preload),
            "warmup": self.warmup,
        }
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                [executable, "-c", _BOOT, json.dumps(config)],
                stdin=subprocess.DEVNULL,
                pass_fds=(child_end.fileno(), lifeline),
                close_fds=True,
            )
        except OSError as exc:
            parent_end.close()
            raise GradingError(
                f"cannot start the grading worker spawner ({executable}): {exc}"
            ) from exc
        finally:
            child_end.close()
        self._proc, self._sock, self._starting = proc, parent_end, started

    def _await_start(self) -> None:
        """Read the launched spawner's start-up message (it comes once it is warm)."""
        started, proc = self._starting, self._proc
        assert started is not None and proc is not None
        try:
            hello = self._hello(started + STARTUP_TIMEOUT)
        except BaseException as exc:
            self._stop(kill=True)
            if isinstance(exc, _Gone):
                raise GradingError(
                    f"the grading worker spawner failed to start ({exc}); its traceback is "
                    f"on stderr; check that mwpbench and the preload modules {self.preload} "
                    "import cleanly in a fresh interpreter"
                ) from None
            raise
        self._starting = None
        self.started_in = time.monotonic() - started
        for problem in hello.get("problems", []):
            log.warning("grading workers: %s", problem)
        log.debug("grading worker spawner %s warm in %.2f s", proc.pid, self.started_in)

    def _hello(self, deadline: float) -> dict[str, Any]:
        (size,) = HEADER.unpack(self._recv(HEADER.size, deadline))
        if size > _HELLO_LIMIT:
            raise _Gone("garbled start-up message")
        return json.loads(self._recv(size, deadline))  # type: ignore[no-any-return]

    def _request(self, memory_limit: int | None) -> tuple[Process, Connection]:
        assert self._sock is not None
        ours, theirs = socket.socketpair()
        status_r, status_w = os.pipe()
        limit = -1 if not memory_limit else int(memory_limit)
        try:
            try:
                socket.send_fds(self._sock, [REQUEST.pack(limit)], [theirs.fileno(), status_w])
            except OSError as exc:
                raise _Gone(str(exc)) from None
            (pid,) = REPLY.unpack(self._recv(REPLY.size, time.monotonic() + STARTUP_TIMEOUT))
        except BaseException:
            ours.close()
            os.close(status_r)
            if not isinstance(sys.exc_info()[1], _Gone):
                self._stop(kill=True)  # interrupted mid-request: the protocol is out of step
            raise
        finally:
            theirs.close()
            os.close(status_w)
        if pid < 0:
            ours.close()
            os.close(status_r)
            raise GradingError(f"cannot start a grading worker: {os.strerror(-pid)}")
        return Process(pid, status_r), Connection(ours.detach())

    def _recv(self, size: int, deadline: float) -> bytes:
        assert self._sock is not None
        data = b""
        poller = select.poll()
        poller.register(self._sock.fileno(), select.POLLIN)
        while len(data) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not poller.poll(int(left * 1000) + 1):
                raise _Gone(f"no answer within {STARTUP_TIMEOUT:g} s")
            try:
                chunk = self._sock.recv(size - len(data))
            except OSError as exc:
                raise _Gone(str(exc)) from None
            if not chunk:
                code = self._proc.poll() if self._proc is not None else None
                raise _Gone("it exited" + (f" with code {code}" if code is not None else ""))
            data += chunk
        return data

    def _stop(self, *, kill: bool) -> None:
        proc, sock = self._proc, self._sock
        self._proc, self._sock, self._starting = None, None, None
        if sock is not None:
            sock.close()  # the spawner sees end-of-file, kills its workers and exits
        if proc is None:
            return
        if kill:
            proc.kill()
        try:
            proc.wait(2.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Gone(Exception):
    """The spawner died or stopped answering."""


# ---------------------------------------------------------------- process-wide state

_spawners: dict[tuple[tuple[str, ...], str | None], Spawner] = {}
_lock = threading.Lock()
_lifeline: tuple[int, int] | None = None  # (read, write): EOF in the spawner = we are gone
_abandoned: list[Any] = []  # a fork parent's spawner handles, kept from the collector


def spawner_for(preload: tuple[str, ...], warmup: str | None) -> Spawner:
    """The process's spawner for this preload/warm-up (created, not started, on first use)."""
    key = (tuple(preload), warmup)
    with _lock:
        spawner = _spawners.get(key)
        if spawner is None:
            spawner = _spawners[key] = Spawner(*key)
        return spawner


def close_all() -> None:
    """Stop every spawner of this process (at interpreter exit)."""
    with _lock:
        spawners = list(_spawners.values())
        _spawners.clear()
    for spawner in spawners:
        spawner.close()


def after_fork_in_child() -> None:
    """Forget the parent's spawners and lifeline (never touch them): start afresh."""
    global _lock, _lifeline
    _lock = threading.Lock()
    for spawner in _spawners.values():
        spawner.forget()
    _spawners.clear()
    if _lifeline is not None:
        for fd in _lifeline:
            try:
                os.close(fd)
            except OSError:
                pass
        _lifeline = None


def _lifeline_read_end() -> int:
    """The read end of this process's lifeline pipe. Only this process holds the write
    end (non-inheritable; a fork child closes its copy), so every spawner reads EOF when
    this process is gone, however it ended."""
    global _lifeline
    with _lock:
        if _lifeline is None:
            _lifeline = os.pipe()
        return _lifeline[0]
