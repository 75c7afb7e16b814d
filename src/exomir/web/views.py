"""Derived views of the knowledge base kept in memory until the store changes.

Every page of the knowledge base is a pure function of the store, so it is computed once and
served from here; a write to the store clears everything. The cache is bounded (least recently
used entries go first), since search words and miRNA names come from clients.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable

MAX_VIEWS = 1024


class ViewCache:
    """Thread-safe LRU of views; a view computed while the store changed is not kept."""

    def __init__(self, limit: int = MAX_VIEWS) -> None:
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            generation = self.generation
            self.misses += 1
        value = compute()  # outside the lock: a slow view does not hold up cached ones
        with self._lock:
            if generation == self.generation:
                self._items[key] = value
                while len(self._items) > self._limit:
                    self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.generation += 1

    def __len__(self) -> int:
        return len(self._items)
