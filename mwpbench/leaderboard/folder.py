"""The site's output folder: written only where it is ours, replaced whole, never half-built.

A site folder holds a marker file (`MARKER`) that lists what the build wrote. A build is
allowed into a folder that does not exist, an empty one, one whose marker lists everything
in it, or a site written by an earlier mwpbench (no marker yet: only ``index.html``,
``static/`` and ``runs/`` with no run in it); anything else is refused with a message and
left untouched. The site is built in a sibling folder (``.NAME.build-…``) and swapped in by
two renames (the old site aside, the new one in, the old one deleted), retried when another
build swaps at the same moment: two builds into one folder both finish, the last one wins,
and a reader never sees a half-written site. Folders a killed build left beside it are
removed by the next build.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import random
import re
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from mwpbench import __version__
from mwpbench.errors import ConfigError, RunError
from mwpbench.results import RUN_JSON

logger = logging.getLogger(__name__)

MARKER = ".mwpbench-site"
ENTRIES = ("index.html", "static", "runs")  # what a build writes, besides the marker
GENERATOR = '<meta name="generator" content="mwpbench'
SWAP_ATTEMPTS = 200
STALE_AFTER_S = 24 * 3600.0  # where a process cannot be asked whether it is alive

_RETRY_ERRNOS = {errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR, errno.EISDIR}


def check_target(out: Path, results: Path) -> None:
    """ConfigError unless a site may be written to `out` (see the module docs)."""
    out, results = out.resolve(), results.resolve()
    if out == results or out in results.parents:
        raise ConfigError(f"{out} holds the run directories ({results}); refusing to write "
                          "the site over them. Pass an output folder of its own with -o")
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(f"{out} is a file; pass a folder for the site with -o")
    foreign = foreign_entries(out)
    if foreign:
        shown = ", ".join(sorted(foreign)[:5]) + (", …" if len(foreign) > 5 else "")
        raise ConfigError(
            f"{out} holds files `mwpbench leaderboard` did not write ({shown}); refusing to "
            f"replace it. Pass a new or empty folder with -o (e.g. -o {out / 'leaderboard'}), "
            "or move those files away"
        )


def foreign_entries(out: Path) -> list[str]:
    """What in `out` a build did not write (an empty list: the folder may be replaced)."""
    for _ in range(SWAP_ATTEMPTS):
        try:
            names = os.listdir(out)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"cannot read {out}: {exc.strerror or exc}") from exc
        if not names:
            return []
        if MARKER not in names:
            return [] if _earlier_site(out, names) else names
        listed = _listed(out / MARKER)
        if listed is not None:
            return [n for n in names if n != MARKER and n not in listed]
        # the marker went between the listing and the read: another build swapped the
        # folder meanwhile; look at what is there now
        time.sleep(random.uniform(0.001, 0.01))
    return []  # swapped every time we looked: only builds are writing here


def _listed(marker: Path) -> set[str] | None:
    """The entries a marker lists (empty when it is unreadable or malformed); None when it
    is gone (the folder was swapped while we looked)."""
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        entries = data.get("entries") if isinstance(data, dict) else None
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError):
        return set()
    return {str(e) for e in entries} if isinstance(entries, list) else set()


def _earlier_site(out: Path, names: list[str]) -> bool:
    """A site written before the marker existed: nothing but its own three entries, an
    index.html that names mwpbench as its generator, and no run directory under runs/."""
    if not set(names) <= set(ENTRIES) or "index.html" not in names:
        return False
    try:
        with (out / "index.html").open("r", encoding="utf-8", errors="replace") as fh:
            head = fh.read(2000)
    except OSError:
        return False
    if GENERATOR not in head:
        return False
    runs = out / "runs"
    return not (runs.is_dir() and any(runs.rglob(RUN_JSON)))


def write_marker(folder: Path) -> None:
    (folder / MARKER).write_text(json.dumps({
        "generator": "mwpbench leaderboard",
        "version": __version__,
        "entries": list(ENTRIES),
        "note": "This folder is written by `mwpbench leaderboard` and replaced whole on every "
                "build; files put here by hand stop the next build (it refuses to delete them).",
    }, indent=1) + "\n", encoding="utf-8")  # fmt: skip


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A fresh folder beside `out` to build the site in; swapped into `out` when the block
    ends without an error, removed otherwise."""
    out = out.resolve()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {out.parent}: {exc.strerror or exc}") from exc
    remove_stale(out)
    tmp = out.parent / f".{out.name}.build-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        write_marker(tmp)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RunError(f"cannot write beside {out} ({tmp.name}): {exc.strerror or exc}; "
                       "the site is built in a sibling folder, so its parent must be "
                       "writable") from exc  # fmt: skip
    try:
        yield tmp
        swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when it was swapped in


def swap_in(new: Path, out: Path) -> None:
    """Put the finished site `new` at `out`, replacing the site there (if it is ours)."""
    for attempt in range(SWAP_ATTEMPTS):
        old: Path | None = None
        if out.exists():
            foreign = foreign_entries(out)
            if foreign:  # something appeared while we built
                raise ConfigError(f"{out} now holds files `mwpbench leaderboard` did not "
                                  f"write ({', '.join(sorted(foreign)[:5])}); the new site "
                                  "was not written")  # fmt: skip
            old = new.with_name(f".{out.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            try:
                os.rename(out, old)
            except FileNotFoundError:  # another build moved it first
                old = None
            except OSError as exc:
                raise RunError(f"cannot replace {out}: {exc.strerror or exc}") from exc
        try:
            os.rename(new, out)
        except OSError as exc:
            if exc.errno not in _RETRY_ERRNOS and not isinstance(exc, FileExistsError):
                raise RunError(f"cannot write {out}: {exc.strerror or exc}") from exc
            logger.debug("leaderboard: %s was replaced meanwhile (attempt %d)", out, attempt)
        else:
            return
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        time.sleep(random.uniform(0.001, 0.02))  # another build is swapping: let it finish
    raise RunError(f"could not put the new site at {out}: other builds kept replacing it "
                   f"({SWAP_ATTEMPTS} attempts); run the command again")  # fmt: skip


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:build|old)-(?P<pid>\d+)-[0-9a-f]{8}$")


def remove_stale(out: Path) -> None:
    """Delete the folders a killed build of `out` left beside it (its process is gone)."""
    try:
        siblings = list(out.parent.iterdir())
    except OSError:
        return
    for path in siblings:
        match = _LEFTOVER.match(path.name)
        if not match or match["name"] != out.name or not path.is_dir():
            continue
        if _alive(int(match["pid"]), path):
            continue
        logger.info("leaderboard: removing %s, left by a build that did not finish", path)
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int, path: Path) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":  # no safe liveness probe: only very old leftovers go
        try:
            return time.time() - path.stat().st_mtime < STALE_AFTER_S
        except OSError:
            return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
