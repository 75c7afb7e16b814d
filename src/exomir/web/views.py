"""Derived views of the knowledge base kept in memory until the store changes.

Every page of the knowledge base is a pure function of the store, so it is computed once and
served from here; a write to the store clears everything. The cache is bounded (least recently
used entries go first) in entries and in an estimate of their size, since search words and
miRNA names come from clients.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

MAX_VIEWS = 1024
MAX_BYTES = 64 * 1024 * 1024


def cost(value: Any) -> int:
    """A cheap estimate of a view's memory: exact for rendered pages, per item for record lists."""
    if isinstance(value, (str, bytes)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return 2048 * len(value) + sum(cost(v) for v in value if isinstance(v, (str, bytes, list, tuple)))
    return 4096


class ViewCache:
    """Thread-safe LRU of views; a view computed while the store changed is not kept."""

    def __init__(self, limit: int = MAX_VIEWS, max_bytes: int = MAX_BYTES) -> None:
        self._items: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._limit = limit
        self._max_bytes = max_bytes
        self.bytes = 0
        self._lock = threading.Lock()
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key][0]
            generation = self.generation
            self.misses += 1
        value = compute()  # outside the lock: a slow view does not hold up cached ones
        size = cost(value)
        with self._lock:
            if generation == self.generation and key not in self._items and size <= self._max_bytes // 4:
                self._items[key] = (value, size)
                self.bytes += size
                while len(self._items) > self._limit or self.bytes > self._max_bytes:
                    _, (_, dropped) = self._items.popitem(last=False)
                    self.bytes -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0
            self.generation += 1

    def __len__(self) -> int:
        return len(self._items)
