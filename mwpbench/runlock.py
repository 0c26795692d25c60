"""One writer per run directory: the lock file `<run dir>/.lock`.

`eval` (new or `--resume`), `regrade` and anything else that writes into a run directory
holds its lock for as long as it writes. The lock is a POSIX record lock (`fcntl.lockf`)
on the file, which the operating system releases when its process ends in any way (kill
-9, a crash, a power cut of a client of a network file system), so a dead owner never
blocks anyone: that is the stale-lock rule. Record locks are not inherited by forked
children (a vLLM or grading worker left behind cannot hold a run), and they work on NFS.
The file holds the owner's PID, host, start time and what it does (never its command
line, which may hold a key), for the message a second
writer gets. Where the file system has no locks at all, the PID decides: a lock whose
owner is no longer alive on this host is taken over.

Within one process a directory is locked once (a second lock of the same directory in the
same process is refused too: record locks are per process, and closing a second handle
would release the first).
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from mwpbench.errors import RunError

log = logging.getLogger(__name__)

LOCK_NAME = ".lock"
_HELD: set[tuple[int, int]] = set()  # (st_dev, st_ino) of the directories this process holds


class RunLocked(RunError):
    """Another process writes into this run directory."""


def _owner_text(info: dict[str, Any]) -> str:
    pid, host = info.get("pid", "?"), info.get("host", "?")
    since = info.get("started_at", "?")
    command = str(info.get("command") or "")[:200]
    return f"pid {pid} on {host}, since {since}" + (f": {command}" if command else "")


def _read_info(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def pid_alive(pid: object) -> bool:
    """Whether a process with this PID runs on this host."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


class RunLock:
    """The lock of one run directory: `acquire()` or raise RunLocked naming the owner;
    `release()` (idempotent) removes the lock file. A context manager."""

    def __init__(self, run_dir: str | os.PathLike[str], *, purpose: str = "") -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self.purpose = purpose
        self._fd: int | None = None
        self._key: tuple[int, int] | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> RunLock:
        if self._fd is not None:
            return self
        try:
            st = os.stat(self.run_dir)
        except OSError as exc:
            raise RunError(f"cannot lock {self.run_dir}: {exc.strerror or exc}") from exc
        key = (st.st_dev, st.st_ino)
        if key in _HELD:
            raise RunLocked(
                f"{self.run_dir} is already being written by this process (pid {os.getpid()}); "
                "one writer per run directory"
            )
        for _ in range(20):  # the file may be replaced between open and lock: try again
            fd = self._open()
            if self._lock(fd) and self._still_there(fd):
                break
            os.close(fd)
        else:  # pragma: no cover - only under a storm of competing writers
            raise RunLocked(f"{self.run_dir}: could not take the lock {self.path}; try again")
        self._write_info(fd)
        self._fd, self._key = fd, key
        _HELD.add(key)
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        if self._key is not None:
            _HELD.discard(self._key)
        try:  # unlink while still holding it: a waiter that opened this file retries
            os.unlink(self.path)
        except OSError:
            pass
        os.close(fd)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    # --- internals ---------------------------------------------------------------------

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise RunError(
                f"cannot create the lock file {self.path}: {exc.strerror or exc}. Choose a "
                "writable folder with --output."
            ) from exc

    def _lock(self, fd: int) -> bool:
        """True when this process now holds the lock; RunLocked when someone else does."""
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EAGAIN):
                self._refuse(_read_info(fd), fd)
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
                os.close(fd)
                raise RunError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        # no locks on this file system: the recorded owner decides
        info = _read_info(fd)
        if info.get("host") == socket.gethostname() and info.get("pid") != os.getpid() and (
            pid_alive(info.get("pid"))
        ):
            self._refuse(info, fd)
        if info:
            log.warning("%s: taking over the lock of %s (no longer running)", self.run_dir,
                        _owner_text(info))  # fmt: skip
        return True

    def _refuse(self, info: dict[str, Any], fd: int) -> None:
        os.close(fd)
        owner = _owner_text(info) if info else "another process"
        raise RunLocked(
            f"{self.run_dir} is being written by another mwpbench process ({owner}). "
            "Wait for it to finish (or stop it), then run the command again; one writer per "
            "run directory."
        )

    def _still_there(self, fd: int) -> bool:
        """The locked file is the one at the path (not one a releasing owner unlinked)."""
        try:
            here = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def _write_info(self, fd: int) -> None:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            # what, not the command line: that may hold an API key (--backend-arg api_key=)
            "command": self.purpose or "mwpbench",
        }
        data = (json.dumps(info) + "\n").encode("utf-8")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
        except OSError:  # the lock holds without its label (a full disk)
            log.debug("could not label %s", self.path, exc_info=True)


__all__ = ["LOCK_NAME", "RunLock", "RunLocked", "pid_alive"]
