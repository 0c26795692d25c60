"""What runs inside the grading processes: the warm spawner and the worker loop.

`python -c "...; from mwpbench.grading.worker import main; main()" CONFIG` (started by
`spawner.py` with `subprocess`, so any process can start it, daemonic ones included) is the
*spawner*: it imports the preload modules, runs the warm-up (so SymPy, latex2sympy2 and
ANTLR's prediction cache are loaded and warm), freezes its heap, and then only forks
*workers* on request. A worker is a copy of that warm process: it is ready in milliseconds
and never imports or warms anything on an item's clock.

Parent <-> spawner, over one Unix socket (fixed-size records):
- spawner -> parent once: a 4-byte length and a JSON object {"pid", "problems"} when warm;
- parent -> spawner: 8 bytes (the worker's address-space cap, -1 for none) carrying two
  file descriptors (SCM_RIGHTS): the worker's end of its socket with the parent, and the
  write end of its status pipe;
- spawner -> parent: 4 bytes, the new worker's pid (or minus an errno when fork failed).
When a worker exits the spawner reaps it and writes its exit status (4 bytes, negative: the
signal) to its status pipe, which the parent polls as the worker's sentinel.

The spawner exits, killing its workers, when the parent closes its socket or when the
parent's lifeline pipe reaches end-of-file (the parent died, even by SIGKILL). On Linux the
spawner also has PR_SET_PDEATHSIG when its starting thread lives as long as the parent, and
every worker has it against the spawner. Workers and spawner ignore SIGINT: Ctrl-C is the
parent's business. Nothing here imports the parent's `__main__`.
"""

from __future__ import annotations

import errno
import gc
import importlib
import json
import os
import pickle
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

__all__ = ["main"]

_ERROR_CHARS = 2000
_PROTOCOL = pickle.HIGHEST_PROTOCOL
REQUEST = struct.Struct("!q")  # parent -> spawner: the worker's memory cap (-1: none)
REPLY = struct.Struct("!i")  # spawner -> parent: a pid, or -errno; also an exit status
HEADER = struct.Struct("!I")  # length of the spawner's JSON hello

# Worker messages. Parent -> worker: (CALL, fn_id, [pickled args, ...]) (one or a few
# items, run in order), (LOAD, fn_id, pickled fn), None (stop). Worker -> parent:
# (READY, pid), (LOADED, fn_id, error or None), and one (OK, value, t_done) or
# (ERR, "Type: message", t_done) per item.
CALL, LOAD, READY, LOADED, OK, ERR = range(6)


def describe(exc: BaseException) -> str:
    """`ExcType: message`, bounded, whatever the exception's __str__ does."""
    try:
        text = f"{type(exc).__name__}: {exc}"
    except Exception:  # a hostile __str__
        text = f"{type(exc).__name__}: <unprintable>"
    return text if len(text) <= _ERROR_CHARS else text[:_ERROR_CHARS] + "..."


# ---------------------------------------------------------------- the spawner


def main() -> None:
    """Entry point of the spawner process (argv[1]: the JSON config from the parent)."""
    config = json.loads(sys.argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = config["parent"]
    if config["die_with_parent"]:
        _die_with_parent(parent)
    if os.getppid() != parent:  # the parent died while this process was starting
        os._exit(0)
    ctl = socket.socket(fileno=config["ctl"])
    lifeline = config["lifeline"]
    problems = _warm(config["preload"], config["warmup"])
    gc.collect()
    gc.freeze()  # workers' collections skip the shared heap: fewer copied pages
    hello = json.dumps({"pid": os.getpid(), "problems": problems}).encode()
    try:
        ctl.sendall(HEADER.pack(len(hello)) + hello)
        _spawn_loop(ctl, lifeline)
    except OSError:  # the parent went away
        pass
    os._exit(0)


def _warm(preload: list[str], warmup: str | None) -> list[str]:
    """Import the preload modules and run the warm-up; return what went wrong (logged by
    the parent; never fatal: a worker then imports on first use)."""
    problems = []
    for name in preload:
        try:
            importlib.import_module(name)
        except Exception as exc:
            problems.append(f"preload {name!r} failed: {describe(exc)}")
    if warmup:
        try:
            module, _, attr = warmup.partition(":")
            getattr(importlib.import_module(module), attr)()
        except Exception as exc:
            problems.append(f"warm-up {warmup!r} failed: {describe(exc)}")
    return problems


def _die_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        try:  # 1 = PR_SET_PDEATHSIG
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
        except (OSError, AttributeError):
            pass


def _spawn_loop(ctl: socket.socket, lifeline: int) -> None:
    """Fork a worker per request; report each worker's exit; stop with the parent."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so the wakeup fd is written
    signal.set_wakeup_fd(wake_w)
    status: dict[int, int] = {}  # worker pid -> write end of its status pipe
    poller = select.poll()
    for fd in (ctl.fileno(), lifeline, wake_r):
        poller.register(fd, select.POLLIN)
    try:
        while True:
            for fd, _event in poller.poll():
                if fd == wake_r:
                    os.read(wake_r, 4096)
                    _reap(status)
                elif fd == lifeline:
                    return  # end-of-file: the parent is gone
                elif not _fork_one(ctl, status, (ctl.fileno(), lifeline, wake_r, wake_w)):
                    return  # the parent closed the socket
    finally:
        for pid in status:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def _reap(status: dict[int, int]) -> None:
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        fd = status.pop(pid, None)
        if fd is not None:
            try:
                os.write(fd, REPLY.pack(os.waitstatus_to_exitcode(wait_status)))
            except OSError:  # the parent stopped listening
                pass
            os.close(fd)


def _fork_one(ctl: socket.socket, status: dict[int, int], own: tuple[int, ...]) -> bool:
    """Serve one request; False when the parent closed the socket."""
    data, fds, _flags, _addr = socket.recv_fds(ctl, REQUEST.size, 2)
    if not data:
        return False
    while len(data) < REQUEST.size:  # a record split by the kernel (never seen in practice)
        more = ctl.recv(REQUEST.size - len(data))
        if not more:
            return False
        data += more
    (memory_limit,) = REQUEST.unpack(data)
    if len(fds) != 2:
        for fd in fds:
            os.close(fd)
        ctl.sendall(REPLY.pack(-errno.EINVAL))
        return True
    channel, status_w = fds
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(channel)
        os.close(status_w)
        ctl.sendall(REPLY.pack(-(exc.errno or errno.EAGAIN)))
        return True
    if pid == 0:  # the worker: never returns into the spawner's loop
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            for fd in (*own, status_w, *status.values()):
                os.close(fd)
            code = _worker(channel, None if memory_limit < 0 else memory_limit)
        finally:
            os._exit(code)
    os.close(channel)
    status[pid] = status_w
    ctl.sendall(REPLY.pack(pid))
    return True


# ---------------------------------------------------------------- a worker


def _worker(channel: int, memory_limit: int | None) -> int:
    from multiprocessing.connection import Connection

    spawner = os.getppid()
    _die_with_parent(spawner)
    if os.getppid() != spawner:
        return 0
    if memory_limit and sys.platform.startswith("linux"):
        _cap_memory(memory_limit)
    conn = Connection(channel)
    try:
        _serve(conn)
    except (EOFError, OSError):  # the parent went away or closed the pipe: just stop
        pass
    return 0


def _cap_memory(limit: int) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def _serve(conn: Any) -> None:
    """Run calls until told to stop or the pipe closes."""
    conn.send((READY, os.getpid()))
    fns: dict[int, Callable[..., Any]] = {}
    dumps, loads, monotonic = pickle.dumps, pickle.loads, time.monotonic
    while True:
        msg = conn.recv()
        if msg is None:
            return
        if msg[0] == CALL:
            fn = fns.get(msg[1])
            for args in msg[2]:  # one result message per item: the parent times each item
                try:
                    result: tuple[Any, ...] = (OK, fn(*loads(args)))  # type: ignore[misc]
                except BaseException as exc:  # noqa: B036 - report everything fn does
                    result = (ERR, describe(exc))
                try:
                    data = dumps((*result, monotonic()), _PROTOCOL)
                except BaseException as exc:  # noqa: B036 - an unpicklable return value
                    error = "result cannot be pickled: " + describe(exc)
                    data = dumps((ERR, error, monotonic()), _PROTOCOL)
                conn.send_bytes(data)
        else:  # LOAD
            error = None
            try:
                fns[msg[1]] = pickle.loads(msg[2])
            except BaseException as exc:  # noqa: B036
                error = describe(exc)
            conn.send((LOADED, msg[1], error))
