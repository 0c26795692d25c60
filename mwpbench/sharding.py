"""Split a request list into disjoint, balanced shards: one process per GPU or node.

Every shard is chosen by a stable hash of the item id (not by position), so each process
computes its own slice from the same list, the slices are disjoint, their union is the
whole list, and sizes differ by at most one.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from mwpbench.errors import ConfigError

T = TypeVar("T")


def _stable_key(item_id: str) -> bytes:
    return hashlib.blake2b(item_id.encode("utf-8"), digest_size=8).digest()


def shard(
    items: Sequence[T],
    num_shards: int,
    shard_index: int,
    *,
    key: Callable[[T], str] | None = None,
) -> list[T]:
    """The `shard_index`-th of `num_shards` slices of `items`, in their original order.

    Items are ranked by a stable hash of their id (`item.id`, or `key(item)`), then dealt
    round-robin: shard i gets ranks i, i + num_shards, ... Ids must be unique.
    """
    if isinstance(num_shards, bool) or not isinstance(num_shards, int) or num_shards < 1:
        raise ConfigError(f"num_shards must be a positive integer, got {num_shards!r}")
    if (
        isinstance(shard_index, bool)
        or not isinstance(shard_index, int)
        or not 0 <= shard_index < num_shards
    ):
        raise ConfigError(
            f"shard_index must be an integer in [0, {num_shards - 1}] for num_shards="
            f"{num_shards}, got {shard_index!r} (shards are numbered from 0)"
        )
    get_id: Callable[[Any], str] = key if key is not None else operator.attrgetter("id")
    ids = [get_id(item) for item in items]
    seen: set[str] = set()
    for item_id in ids:
        if item_id in seen:
            raise ConfigError(f"cannot shard: duplicate id {item_id!r}; ids must be unique")
        seen.add(item_id)
    if num_shards == 1:
        return list(items)
    ranked = sorted(range(len(ids)), key=lambda i: (_stable_key(ids[i]), ids[i]))
    mine = sorted(ranked[shard_index::num_shards])
    return [items[i] for i in mine]


__all__ = ["shard"]
