"""The reports of the server's results folder: listed by opaque id (API and page) and served by id;
no path from a request reaches the file system."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Path as PathParam, Request
from fastapi.responses import FileResponse, HTMLResponse

from exomir.web.pages import Pages
from exomir.web.schemas import ReportInfo
from exomir.web.state import State

REPORT_ID = re.compile(r"^[0-9a-f]{16}$")


def router(state: State, pages: Pages) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/reports", response_model=list[ReportInfo], tags=["reports"])
    def api_reports() -> list[dict]:
        """Reports found in the server's results folder, by opaque id."""
        state.refresh_files()
        return [{"id": r.id, "path": r.relative, "title": r.title, "size": r.size, "modified": r.modified,
                 "url": f"/reports/{r.id}"} for r in state.reports.values()]  # fmt: skip

    @routes.get("/reports", response_class=HTMLResponse, include_in_schema=False)
    def reports_page(request: Request):
        state.refresh_files()
        return pages.page(request, "reports.html", reports=list(state.reports.values()),
                          configured=state.settings.results is not None)  # fmt: skip

    @routes.get("/reports/{report_id}", include_in_schema=False)
    def report_file(report_id: str = PathParam(max_length=16)):
        report = state.reports.get(report_id) if REPORT_ID.match(report_id) else None
        if report is None:
            state.refresh_files()
            report = state.reports.get(report_id) if REPORT_ID.match(report_id) else None
        if report is None or not report.path.is_file():
            raise HTTPException(404, "no report with this id")
        return FileResponse(report.path, media_type="text/html")

    return routes
