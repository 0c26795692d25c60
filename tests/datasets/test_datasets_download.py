"""The real download path (datasets.DownloadManager, pinned URL, cache, checksum) on local
files: `file://` URLs always, a local HTTP server when aiohttp is installed."""

from __future__ import annotations

import dataclasses
import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from dataset_fixtures import FIXTURES

from mwpbench import config
from mwpbench.config import FileSpec
from mwpbench.datasets import load_task
from mwpbench.datasets.files import download, file_hashes, verify
from mwpbench.errors import ChecksumError, DataError

GSM8K = FIXTURES / "gsm8k" / "test.jsonl"
RELEASE = FIXTURES / "release" / "full_test.json"


def pinned(path: Path, url: str, *, name: str = "test", **override: str) -> FileSpec:
    hashes = file_hashes(path)
    return FileSpec(
        name=name, url=url, git_blob=hashes["git_blob"], sha256=hashes["sha256"], **override
    )


def test_git_blob_id_matches_git(tmp_path: Path) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello\n")
    # `printf 'hello\n' | git hash-object --stdin`
    assert file_hashes(path)["git_blob"] == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_file_url_download_verifies(tmp_path: Path) -> None:
    spec = pinned(GSM8K, GSM8K.resolve().as_uri())
    assert download(spec, cache_dir=tmp_path).read_bytes() == GSM8K.read_bytes()


def test_checksum_mismatch(tmp_path: Path) -> None:
    good = pinned(GSM8K, GSM8K.resolve().as_uri())
    for field in ("git_blob", "sha256"):
        bad = dataclasses.replace(good, **{field: "0" * len(getattr(good, field))})
        with pytest.raises(ChecksumError, match=field) as exc:
            download(bad, cache_dir=tmp_path)
        assert exc.value.path and "data_files=" in str(exc.value)
    with pytest.raises(ChecksumError):
        verify(GSM8K, dataclasses.replace(good, git_blob=None, sha256="f" * 64))


def test_download_failure_is_a_data_error(tmp_path: Path) -> None:
    spec = pinned(GSM8K, (tmp_path / "absent.jsonl").as_uri())
    with pytest.raises(DataError, match="cannot download"):
        download(spec, cache_dir=tmp_path)


@pytest.fixture
def task_via_url(monkeypatch: pytest.MonkeyPatch):
    """Point a task's pinned files at other URLs (the rest of load_task unchanged)."""

    real = config.get_task

    def patch(task: str, source: str, files: dict[str, FileSpec]) -> None:
        spec = real(task)
        src = dataclasses.replace(spec.sources[source], files=files)
        patched = dataclasses.replace(spec, sources={**spec.sources, source: src})
        monkeypatch.setattr(
            config,
            "get_task",
            lambda name, root=None: patched if name == task else real(name, root),
        )

    return patch


def test_load_task_downloads_native_and_release(
    task_via_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MWPBENCH_CACHE_DIR", str(tmp_path))
    task_via_url("gsm8k", "native", {"test": pinned(GSM8K, GSM8K.resolve().as_uri())})
    assert [p.answer for p in load_task("gsm8k", source="native")] == ["19", "3600", "-5"]
    task_via_url(
        "gsm8k",
        "mwpbench",
        {"arxiv-v1": pinned(RELEASE, RELEASE.resolve().as_uri(), name="arxiv-v1")},
    )
    assert [p.answer for p in load_task("gsm8k")] == ["5"]
    assert [p.answer for p in load_task("gsm8k", release="arxiv-v1")] == ["5"]


def test_load_task_refuses_a_tampered_download(task_via_url, tmp_path: Path) -> None:
    copy = tmp_path / "test.jsonl"
    copy.write_bytes(GSM8K.read_bytes())
    spec = pinned(copy, copy.as_uri())
    copy.write_bytes(GSM8K.read_bytes().replace(b"#### 19", b"#### 18"))
    task_via_url("gsm8k", "native", {"test": spec})
    with pytest.raises(ChecksumError):
        load_task("gsm8k", source="native")


@pytest.fixture
def http_server() -> Iterator[tuple[str, list[str]]]:
    pytest.importorskip("aiohttp")
    hits: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            hits.append(self.requestline)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(FIXTURES))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


@pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)
def test_http_download_is_cached_and_reused_offline(http_server, tmp_path: Path) -> None:
    base, hits = http_server
    spec = pinned(GSM8K, f"{base}/gsm8k/test.jsonl")
    first = download(spec, cache_dir=tmp_path)
    assert first.read_bytes() == GSM8K.read_bytes() and tmp_path in first.parents
    n = len(hits)
    assert any(h.startswith("GET /gsm8k/test.jsonl") for h in hits)
    assert download(spec, cache_dir=tmp_path) == first
    assert len(hits) == n  # served from the cache, no request at all


@pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)
def test_http_corrupt_cache_is_downloaded_again(http_server, tmp_path: Path) -> None:
    base, hits = http_server
    spec = pinned(GSM8K, f"{base}/gsm8k/test.jsonl")
    cached = download(spec, cache_dir=tmp_path)
    cached.write_bytes(b"corrupted")
    assert download(spec, cache_dir=tmp_path).read_bytes() == GSM8K.read_bytes()
