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

from mwpbench.config import FileSpec
from mwpbench.errors import ChecksumError, ConfigError, DataError

log = logging.getLogger(__name__)

DataFiles = str | os.PathLike | Sequence[str | os.PathLike] | Mapping[str, str | os.PathLike]




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
                "load again, or pass your own copy with data_files=",
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
                "or pass a local copy with data_files=",
            ) from exc
        except Exception as exc:  # network and cache errors of any kind
            raise DataError(
                f"cannot download {spec.url}: {exc}. Check the network, or download the file "
                "yourself and pass it with data_files=",
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
    for path in paths:
        if path.is_dir():
            raise ConfigError(f"{path}: pass the release file itself, not a folder")
        if not path.is_file():
            raise DataError("no such file", path=str(path))
    return paths


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
