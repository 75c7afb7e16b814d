"""Scoring uploads with the server's locked models: the JSON API (models, score, scored table as
CSV) and the scoring page."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Path as PathParam, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from exomir.model import LockedModel
from exomir.web.pages import Pages
from exomir.web.schemas import ERRORS, ModelInfo, ScoreResult
from exomir.web.scoring import check_limits, score_upload, scores_csv, scores_records
from exomir.web.state import State

RESULT_ID = re.compile(r"^[0-9a-f]{32}$")


def model_or_404(state: State, model_id: str | None) -> LockedModel:
    """The model asked for (the first one when none is named)."""
    if not state.models:
        raise HTTPException(404, "this server offers no locked model for scoring")
    if model_id is None or model_id == "":
        return next(iter(state.models.values()))
    if model_id not in state.models:
        raise HTTPException(404, f"no model with id {model_id!r}")
    return state.models[model_id]


async def _read_upload(state: State, upload: UploadFile | None) -> bytes | None:
    if upload is None:
        return None
    limits = state.settings
    data = await upload.read(limits.max_upload_bytes + 1)
    return check_limits(data, max_bytes=limits.max_upload_bytes, max_lines=limits.max_lines)


async def score(state: State, expression: UploadFile, clinical: UploadFile | None, model_id: str | None) -> tuple:
    """Score an upload (in a worker thread) and keep the table for download: (model, scores, result id)."""
    model = model_or_404(state, model_id)
    expr = await _read_upload(state, expression)
    clin = await _read_upload(state, clinical) if clinical is not None and clinical.filename else None
    scores = await run_in_threadpool(score_upload, model, expr, expression.filename, clin,
                                     clinical.filename if clinical is not None else None,
                                     max_samples=state.settings.max_samples)  # fmt: skip
    rid = state.results.put(scores_csv(scores), model.checksum[:16])
    return model, scores, rid


def router(state: State, pages: Pages) -> APIRouter:
    routes = APIRouter()

    @routes.get("/api/models", response_model=list[ModelInfo], tags=["scoring"])
    def api_models() -> list[dict]:
        """Locked models this server scores with (verified checksums)."""
        return [m.summary() for m in state.models.values()]

    @routes.post("/api/score", response_model=ScoreResult, responses=ERRORS, tags=["scoring"])
    async def api_score(
        expression: Annotated[UploadFile, File(description="expression table of the samples (CSV/TSV)")],
        clinical: Annotated[UploadFile | None, File(description="clinical table (when the model uses AFP)")] = None,
        model: Annotated[str | None, Form(max_length=16, description="model id (default: the first)")] = None,
    ) -> dict:
        """Score an uploaded table: calibrated probability, class, contributions and QC per sample."""
        locked, scores, rid = await score(state, expression, clinical, model)
        case = locked.content["task"]["positive_class"]
        return {"model": locked.summary(), "n_samples": len(scores), "n_called": int((scores["class"] == case).sum()),
                "result_id": rid, "download": f"/api/scores/{rid}", "scores": scores_records(scores)}  # fmt: skip

    @routes.get("/api/scores/{result_id}", responses={200: {"content": {"text/csv": {}}}, **ERRORS}, tags=["scoring"],
                response_class=Response)  # fmt: skip
    def api_scores_csv(result_id: Annotated[str, PathParam(max_length=32)]) -> Response:
        """A scored table as CSV (kept for the last few uploads only)."""
        item = state.results.get(result_id) if RESULT_ID.match(result_id) else None
        if item is None:
            raise HTTPException(404, "no such scored table (they are kept for the last uploads only)")
        csv, model_id = item
        return Response(csv, media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="exomir-scores-{model_id}.csv"'})

    @routes.get("/score", response_class=HTMLResponse, include_in_schema=False)
    def score_form(request: Request):
        return pages.page(request, "score.html", models=[m.summary() for m in state.models.values()], result=None)

    @routes.post("/score", response_class=HTMLResponse, include_in_schema=False)
    async def score_page(request: Request, expression: UploadFile = File(...), clinical: UploadFile | None = File(None),
                         model: str | None = Form(None)):  # fmt: skip
        locked, scores, rid = await score(state, expression, clinical, model)
        features = [f["name"] for f in locked.features]
        rows = scores_records(scores)
        case = locked.content["task"]["positive_class"]
        return pages.page(request, "score.html", models=[m.summary() for m in state.models.values()],
                          result={"model": locked.summary(), "rows": rows, "features": features, "rid": rid,
                                  "n_called": int((scores["class"] == case).sum()), "case": case,
                                  "filename": expression.filename or "table"})  # fmt: skip

    return routes
