"""What a running server holds: its settings, the knowledge base and transfer network (built
on first use), the reports of its results folder, its locked models and the last scored tables."""

from __future__ import annotations

import threading

from exomir.web.reports import scan_reports
from exomir.web.scoring import ResultStore, find_models
from exomir.web.settings import WebSettings
from exomir.web.views import ViewCache
from exomir.kb import load_store
from exomir.plotting.network import render_html


class State:
    """Lazily built knowledge base, network, reports and models. Views derived from the
    knowledge base are computed once and kept until the store changes (a write clears them)."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._kb = None
        self._graph = None
        self._network_html: str | None = None
        self.views = ViewCache()
        self.results = ResultStore()
        self.reports = scan_reports(settings.results)
        self.models, self.refused = find_models(settings.models, settings.results)

    def kb(self):
        with self._lock:
            if self._kb is None:
                self._kb = load_store(self.settings.evidence)
            return self._kb

    def graph(self):
        with self._lock:
            if self._graph is None:
                self._graph = self.kb().network()
            return self._graph

    def network_html(self) -> str:
        with self._lock:
            if self._network_html is None:
                self._network_html = render_html(self.graph(), self.kb().table())
            return self._network_html

    def query(self, fn, *args, **kwargs):
        """Run a knowledge-base query holding the lock: one SQLite connection serves every thread."""
        with self._lock:
            return fn(*args, **kwargs)

    def view(self, key: tuple, fn):
        """A derived view, computed once (under the store's lock) until the store changes."""
        return self.views.get(key, lambda: self.query(fn))

    def refresh_kb(self) -> None:
        with self._lock:
            self._kb = self._graph = self._network_html = None
            self.views.clear()

    def refresh_files(self) -> None:
        self.reports = scan_reports(self.settings.results)
