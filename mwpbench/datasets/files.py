"""Where a task's files come from: pinned downloads (through `datasets`) or local copies.

Downloads go through `datasets.DownloadManager` (cached in the Hugging Face datasets cache,
or `$MWPBENCH_CACHE_DIR`), then are verified against the pinned git blob id (sha1 over
`blob <size>\\0` + bytes) and/or sha256. `datasets` is imported only here, only when a
download is needed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from mwpbench.config import FileSpec, TaskSpec
from mwpbench.errors import ChecksumError, ConfigError, DataError

log = logging.getLogger(__name__)

DataFiles = str | os.PathLike | Sequence[str | os.PathLike] | Mapping[str, str | os.PathLike]




LOCAL_COPY = (
    "Without network, use a local copy: --data-file PATH or --data-dir ROOT (a mirror with "
    "one folder per dataset) on the command line, data_files= in Python"
)


def download_failure(exc: BaseException) -> str:
    """Why a download failed, in words: DNS, connection refused, an HTTP status, a timeout,
    offline mode; read from the exception and its causes."""
    import socket

    seen: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and cause not in seen and len(seen) < 10:
        seen.append(cause)
        cause = cause.__cause__ or cause.__context__
    for err in seen:
        status = getattr(err, "status", None) or getattr(getattr(err, "response", None),
                                                          "status_code", None)  # fmt: skip
        if isinstance(status, int) and 400 <= status < 600:
            word = {401: "unauthorized", 403: "forbidden", 404: "not found"}.get(status, "")
            return f"HTTP {status}{' (' + word + ')' if word else ''}"
        if isinstance(err, socket.gaierror):
            return ("DNS lookup failed (no network, or no name server: offline or air-gapped "
                    "machine?)")  # fmt: skip
        if isinstance(err, ConnectionRefusedError):
            return "connection refused (a firewall or proxy in the way?)"
        if isinstance(err, TimeoutError) or "timeout" in type(err).__name__.lower():
            return "the connection timed out"
    if os.environ.get("HF_DATASETS_OFFLINE", "") in ("1", "true", "TRUE", "yes"):
        return "HF_DATASETS_OFFLINE is set and the file is not in the cache"
    first = seen[-1] if seen else exc
    return f"{type(first).__name__}: {first}"


def file_hashes(path: Path) -> dict[str, str]:
    """{"git_blob": ..., "sha256": ...} of one file, read once."""
    size = path.stat().st_size
    blob = hashlib.sha1(f"blob {size}\0".encode())  # noqa: S324 - git's object id, not security
    sha = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            blob.update(chunk)
            sha.update(chunk)
    return {"git_blob": blob.hexdigest(), "sha256": sha.hexdigest()}


def verify(path: Path, spec: FileSpec) -> dict[str, str]:
    """Check `path` against the pins of `spec`; ChecksumError naming both values."""
    actual = file_hashes(path)
    for key in ("git_blob", "sha256"):
        expected = getattr(spec, key)
        if expected and actual[key] != expected.lower():
            raise ChecksumError(
                f"{key} is {actual[key]}, expected {expected} for {spec.url}. The file is "
                "corrupt or not the pinned version: delete it (or the cached download) and "
                "load again, or pass your own copy (--data-file / --data-dir; data_files= in "
                "Python)",
                path=str(path),
            )
    return actual


def download(spec: FileSpec, *, cache_dir: str | os.PathLike | None = None) -> Path:
    """Download (or reuse the cached copy of) a pinned file and verify it."""
    try:
        from datasets import DownloadConfig, DownloadManager
    except ImportError as exc:  # pragma: no cover - datasets is a core dependency
        raise DataError("downloading needs the 'datasets' package: pip install datasets") from exc

    cache = cache_dir or os.environ.get("MWPBENCH_CACHE_DIR") or None
    for attempt in range(2):
        # URLs are pinned to commits and checked by hash: no etag round trip, so a cached
        # file is reused offline.
        config = DownloadConfig(
            cache_dir=cache, disable_tqdm=True, force_download=attempt > 0, use_etag=False
        )
        manager = DownloadManager(download_config=config)
        try:
            local = Path(manager.download(spec.url))
        except ImportError as exc:  # fsspec's HTTP filesystem needs aiohttp
            raise DataError(
                f"cannot download {spec.url}: {exc}. Install it (pip install aiohttp requests) "
                f"or {LOCAL_COPY}",
            ) from exc
        except Exception as exc:  # network and cache errors of any kind
            raise DataError(
                f"cannot download {spec.url}: {download_failure(exc)}. {LOCAL_COPY} (README: "
                "Offline and air-gapped clusters)",
            ) from exc
        try:
            verify(local, spec)
            return local
        except ChecksumError:
            if attempt or "://" not in spec.url or spec.url.startswith("file:"):
                raise
            log.warning("cached %s fails its checksum; downloading it again", spec.url)
    raise AssertionError("unreachable")  # pragma: no cover


def _paths(data_files: DataFiles) -> list[Path]:
    if isinstance(data_files, (str, os.PathLike)):
        return [Path(data_files)]
    return [Path(p) for p in data_files]


def local_release_files(data_files: DataFiles) -> list[Path]:
    """Local files in the MWPBench release format (each read in full)."""
    if isinstance(data_files, Mapping):
        paths = [Path(p) for p in data_files.values()]
    else:
        paths = _paths(data_files)
    if not paths:
        raise ConfigError("data_files is empty: pass at least one file")
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            out += release_files_in(path)
        elif not path.is_file():
            raise DataError("no such file", path=str(path))
        else:
            out.append(path)
    return out


def release_files_in(folder: Path) -> list[Path]:
    """The files in MWPBench release form (records with data_topic) in a folder; a
    ConfigError saying what the folder holds when there is none."""
    found = [p for p in _data_files_in(folder) if _is_release(p)]
    if not found:
        raise ConfigError(
            f"{folder}: no file in the MWPBench release form (records with data_topic) in this "
            f"folder; it {_listing(folder)}. For the original datasets add --source native"
        )
    return found


def local_native_files(data_files: DataFiles, specs: Mapping[str, FileSpec]) -> dict[str, Path]:
    """Map local native files onto the task's file names.

    `data_files` is a mapping {file name: path}, a folder holding the files under their
    published names, a list of files with their published names, or (for a task with one
    file) a single file of any name.
    """
    out: dict[str, Path] = {}
    if isinstance(data_files, Mapping):
        unknown = set(data_files) - set(specs)
        if unknown:
            raise ConfigError(
                f"data_files: unknown file name(s) {sorted(unknown)}; expected {list(specs)}"
            )
        out = {name: Path(p) for name, p in data_files.items()}
    else:
        paths = _paths(data_files)
        if len(paths) == 1 and paths[0].is_dir():
            folder = paths[0]
            out = {
                n: folder / s.basename for n, s in specs.items() if (folder / s.basename).exists()
            }
            only = _data_files_in(folder)
            if not out and len(specs) == 1 and len(only) == 1:  # one file, another name
                out = {next(iter(specs)): only[0]}
        elif len(paths) == 1 and len(specs) == 1:
            out = {next(iter(specs)): paths[0]}
        else:
            by_base = {s.basename: n for n, s in specs.items()}
            for path in paths:
                if path.name not in by_base:
                    raise ConfigError(
                        f"data_files: {path} is not one of {sorted(by_base)}; pass a mapping "
                        "{file name: path} instead"
                    )
                out[by_base[path.name]] = path
    missing = [n for n in specs if n not in out]
    if missing:
        raise ConfigError(
            f"data_files: missing {', '.join(specs[n].basename for n in missing)} "
            f"(this task reads {', '.join(s.basename for s in specs.values())})"
        )
    for path in out.values():
        if not path.is_file():
            raise DataError("no such file", path=str(path))
    return {n: out[n] for n in specs}


def _data_files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".json", ".jsonl"))


def _listing(folder: Path, limit: int = 8) -> str:
    try:
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir()
                       if not p.name.startswith("."))  # fmt: skip
    except OSError:
        return "cannot be listed"
    if not names:
        return "is empty"
    return "holds " + ", ".join(names[:limit]) + (" ..." if len(names) > limit else "")


def mirror_files(root: str | os.PathLike[str], spec: TaskSpec, source: str) -> Path:
    """The data of task `spec` in a local mirror ROOT of the public repositories: one folder
    per dataset with the files under their published names (the task YAML's `mirror:`;
    ../shared/data has this layout). ROOT/<folder> (or ROOT/<task>) may also be a single
    file, ROOT/<task>.jsonl. For the release source: the folder's release-form file, else
    the release file itself (full_test.json) in ROOT or one folder down. ConfigError naming
    the task and what ROOT holds otherwise."""
    base = Path(root).expanduser()
    if not base.is_dir():
        raise ConfigError(f"--data-dir {base}: not a folder")
    if source not in spec.sources:
        raise ConfigError(f"task {spec.name} has no {source!r} source ({spec.path}): add "
                          f"--source {next(iter(spec.sources))}")  # fmt: skip
    mirror = spec.mirror
    folders = list(dict.fromkeys([*([mirror.folder] if mirror else []), spec.name]))
    folder: Path | None = None
    for name in folders:
        here = base / name
        if here.is_dir():
            folder = here
            break
        for suffix in (".jsonl", ".json"):
            if (base / f"{name}{suffix}").is_file():
                return base / f"{name}{suffix}"
    if folder is not None and source == "native":
        if mirror is not None and folder.name == mirror.folder and mirror.native != ".":
            if (folder / mirror.native).is_file():
                return folder / mirror.native
        return folder  # the files under their published names (local_native_files)
    if source == "mwpbench":
        found = _release_in(folder, spec) if folder is not None else None
        found = found or _release_file(base, spec)
        if found is not None:
            return found
        if folder is not None:
            label = spec.label or spec.name
            raise ConfigError(
                f"task {spec.name}: {folder} has no file in the MWPBench release form (records "
                f"with data_topic); it {_listing(folder)} -- the original {label} files: add "
                f"--source native (or give the release file: --data-file {spec.name}=PATH)"
            )
    where = " or ".join(f"{base / n}/" for n in folders)
    raise ConfigError(
        f"task {spec.name}: no data for it under --data-dir {base}: expected {where} "
        f"(with {', '.join(_expected(spec, source))}); {base} {_listing(base)}"
    )


def _expected(spec: TaskSpec, source: str) -> list[str]:
    if source == "mwpbench" and spec.mirror is not None and spec.mirror.release:
        return [spec.mirror.release]
    return [f.basename for f in spec.sources[source].files.values()]


def _release_in(folder: Path, spec: TaskSpec) -> Path | None:
    """A release-form file in the dataset's own folder (the mirror's, else any)."""
    mirror = spec.mirror
    if mirror is not None and mirror.release and (folder / mirror.release).is_file():
        return folder / mirror.release
    for path in _data_files_in(folder):
        if _is_release(path):
            return path
    return None


def _release_file(base: Path, spec: TaskSpec) -> Path | None:
    """The pinned release file itself (full_test.json) in ROOT or one folder down."""
    for name in dict.fromkeys(f.basename for f in spec.sources["mwpbench"].files.values()):
        if (base / name).is_file():
            return base / name
        below = sorted(base.glob(f"*/{name}"))
        if len(below) == 1:
            return below[0]
    return None


def _is_release(path: Path) -> bool:
    from mwpbench.datasets.diagnose import RELEASE, guess

    return guess(path) == RELEASE
