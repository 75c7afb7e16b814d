"""The view cache of the web app: computed once, dropped when the store changes, bounded."""

from __future__ import annotations

from exomir.web.views import ViewCache


def test_computed_once_until_cleared():
    cache, calls = ViewCache(), []
    for _ in range(3):
        assert cache.get(("a",), lambda: calls.append(1) or "page") == "page"
    assert len(calls) == 1 and cache.hits == 2 and cache.misses == 1
    cache.clear()
    cache.get(("a",), lambda: calls.append(1) or "page")
    assert len(calls) == 2


def test_a_view_computed_across_a_change_is_not_kept():
    cache = ViewCache()

    def compute():
        cache.clear()  # the store changed while this view was being computed
        return "stale"

    assert cache.get(("a",), compute) == "stale"
    assert len(cache) == 0


def test_bounded_in_entries_and_bytes():
    cache = ViewCache(limit=3, max_bytes=1000)
    for i in range(5):
        cache.get((i,), lambda: "x" * 10)
    assert len(cache) == 3 and cache.bytes == 30
    for i in range(5, 9):
        cache.get((i,), lambda: "y" * 240)  # four of these pass the byte budget
    assert cache.bytes <= 1000 and len(cache) == 3
    cache.get(("huge",), lambda: "z" * 600)  # over a quarter of the budget: served, not kept
    assert ("huge",) not in cache._items
