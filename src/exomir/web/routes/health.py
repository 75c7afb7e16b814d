"""``/api/health``: what the server runs and offers."""

from __future__ import annotations

from fastapi import APIRouter

from exomir._version import __version__
from exomir.web.schemas import Health, RefusedModelInfo
from exomir.web.state import State


def router(state: State) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/health", response_model=Health, tags=["api"])
    def api_health() -> Health:
        """Server status: version, whether writes are possible, models and reports on offer."""
        refused = [RefusedModelInfo(file=r.path.name, reason=r.reason.replace(str(r.path), r.path.name))
                   for r in state.refused]  # fmt: skip
        return Health(status="ok", version=__version__, read_only=state.settings.read_only,
                      models=len(state.models), reports=len(state.reports), refused_models=refused)  # fmt: skip

    return routes
