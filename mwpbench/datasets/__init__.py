"""The ten MwpBench datasets (+ Fresh-GaokaoMath-2023): adapters, loading, selection.

Public: `list_tasks()`, `load_task(name, *, source="mwpbench"|"native", data_files=None,
limit=None)`. One module per dataset; the adapters are registered in
`mwpbench.registry.ADAPTERS`, the tasks defined in `tasks/*.yaml`.
"""

from __future__ import annotations

from mwpbench.datasets.loader import list_tasks, load_task

__all__ = ["list_tasks", "load_task"]
