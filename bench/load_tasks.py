"""Time loading every task natively from local copies of the public files.

    python bench/load_tasks.py [--data-dir ../shared/data]

Prints task, n, seconds (and the total), then verifies every local file against the pins
in tasks/*.yaml (the check a cached download goes through). The layout of --data-dir is
that of ../shared/data: one folder per dataset with the files under their published names.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mwpbench import config  # noqa: E402
from mwpbench.datasets.files import verify  # noqa: E402
from mwpbench.datasets.loader import list_tasks, load  # noqa: E402
from mwpbench.report import render  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    rows, total, t_all = [], 0, time.perf_counter()
    for task in list_tasks():
        mirror = config.get_task(task).mirror
        if mirror is None:
            continue
        folder, native, rel = mirror.folder, mirror.native, mirror.release
        base = args.data_dir / folder
        for source, files in (("native", base / native), ("mwpbench", base / rel if rel else None)):
            if files is None:
                continue
            t0 = time.perf_counter()
            result = load(task, source=source, data_files=files)
            seconds = time.perf_counter() - t0
            total += len(result.problems)
            rows.append(
                [task, source, len(result.problems), sum(result.dropped.values()), f"{seconds:.3f}"]
            )
    elapsed = time.perf_counter() - t_all
    rows.append(["total", "", total, "", f"{elapsed:.3f}"])
    print(render([["task", "source", "n", "dropped", "seconds"], *rows]))

    t0, checked = time.perf_counter(), 0
    for spec in config.load_tasks().values():
        if spec.mirror is None:
            continue
        folder, native = spec.mirror.folder, spec.mirror.native
        for f in spec.sources["native"].files.values():
            local = args.data_dir / folder / (f.basename if native == "." else native)
            if local.is_file():
                verify(local, f)
                checked += 1
    print(f"\nverified {checked} local files against their pins in {time.perf_counter() - t0:.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
