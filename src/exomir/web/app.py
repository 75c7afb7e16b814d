"""The exomir web app: browse the knowledge base, the transfer network and the reports of a
results folder, and score new samples with a locked model; a JSON API for the same.

Safety rules: the app reads only what the server was started with (a results folder, model
files, the knowledge base); reports and scored tables are reached by ids the server issued;
uploads are size- and row-limited and written under server-chosen names; it is read-only
unless ``EXOMIR_API_TOKEN`` is set, and then only ``POST /api/evidence`` writes, with that
token as a bearer token.
"""

from __future__ import annotations

import hmac
import re
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from fastapi import Depends, FastAPI, File, Form, Header, HTTPException, Path as PathParam, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field

from exomir._version import __version__
from exomir.errors import ExomirError, InputError
from exomir.model.score import TooManySamples
from exomir.progress import warn
from exomir.kb.vocab import Cell, ClinicalRole, Direction, Hallmark, Pathway, labels_of
import exomir.web.knowledge as knowledge
from exomir.web.apidocs import api_reference
from exomir.web.limits import BodyLimit, SecurityHeaders
from exomir.web.reports import scan_reports
from exomir.web.scoring import (ResultStore, TooLarge, check_limits, find_models, score_upload, scores_csv,
                                scores_records, without_flags)
from exomir.web.settings import WebSettings
from exomir.web.views import ViewCache

HERE = Path(__file__).parent
RID = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


# ---- response schemas (the OpenAPI contract) -------------------------------------------------


class Problem(BaseModel):
    detail: str


class RefusedModelInfo(BaseModel):
    file: str
    reason: str


class Health(BaseModel):
    status: str
    version: str
    read_only: bool
    models: int
    reports: int
    refused_models: list[RefusedModelInfo]


class MirnaEntry(BaseModel):
    name: str
    records: int
    mimat: str


class MirnaView(BaseModel):
    query: str
    curated: bool
    identity: dict[str, Any]
    hmdd: dict[str, Any]
    names: list[str]
    mimats: list[str]
    records: list[dict[str, Any]]
    directions: dict[str, int]
    conflicts: list[dict[str, Any]]
    targets: dict[str, Any]
    cells: dict[str, list[str]]
    hallmarks: list[str]
    pathways: list[str]
    network: dict[str, Any]


class SearchResult(BaseModel):
    count: int
    records: list[dict[str, Any]]


class ReportInfo(BaseModel):
    id: str
    path: str
    title: str
    size: int
    modified: str
    url: str


class ModelInfo(BaseModel):
    id: str
    checksum: str
    measure: str
    task: dict[str, Any]
    features: list[str]
    cv_auc: float
    cv_auc_ci: list[float]
    threshold: float
    sensitivity: float
    specificity: float
    n_training: int
    exomir_version: str


class ScoreResult(BaseModel):
    model: ModelInfo
    n_samples: int
    n_called: int
    result_id: str
    download: str
    scores: list[dict[str, Any]]


class EvidenceSubmission(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$", description="provenance name of the lab file")
    records: list[dict[str, Any]] = Field(min_length=1, max_length=500)
    mode: Literal["refuse", "append"] = Field(
        "refuse", description="under a lab name already in use: refuse (nothing changes) or append these records")


class EvidenceReceipt(BaseModel):
    imported: int
    name: str
    total_records: int


def _code(member) -> str | None:
    return None if member is None else str(member.value)


ERRORS = {404: {"model": Problem}, 413: {"model": Problem}, 422: {"model": Problem}}


# ---- state -------------------------------------------------------------------------------------


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
                from exomir.kb import load_store

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
                from exomir.plotting.network import render_html

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


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """The FastAPI application (``exomir serve`` runs it with uvicorn)."""
    settings = settings or WebSettings.from_environment()
    state = State(settings)
    for refused in state.refused:
        warn(f"model not offered for scoring: {refused.reason}")
    app = FastAPI(
        title="exomir",
        version=__version__,
        description="Exosomal miRNA evidence in hepatocellular carcinoma, transfer network, reports and locked-model scoring.",
        docs_url=None,  # the stock page loads its scripts from a CDN: blocked by our CSP and offline
        redoc_url=None,
    )
    app.state.exomir = state
    # two tables plus form overhead at most; counted as the body streams in (chunked or not)
    app.add_middleware(BodyLimit, max_bytes=2 * settings.max_upload_bytes + 65536)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["label"] = labels_of
    templates.env.filters["links"] = knowledge.citation_links
    templates.env.filters["reference"] = knowledge.reference_markup
    templates.env.globals.update(version=__version__, read_only=settings.read_only)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def page(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, {"active": name.split(".")[0], **context}, status_code=status)

    def kb_page(key: tuple, name: str, context) -> HTMLResponse:
        """A knowledge-base page, rendered once per store state (pages do not depend on the request)."""
        html = state.views.get(("page", name, *key),
                               lambda: templates.get_template(name).render({"active": name.split(".")[0], **context()}))  # fmt: skip
        return HTMLResponse(html)

    app.add_middleware(SecurityHeaders)

    def _wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def _explain(status: int, title: str):
        """An error handler: JSON for the API, an error page for people."""

        async def handler(request: Request, exc: Exception):
            if _wants_json(request):
                return JSONResponse({"detail": str(exc)}, status_code=status)
            return page(request, "error.html", status, title=title, message=str(exc))

        return handler

    app.add_exception_handler(InputError, _explain(422, "Cannot use this input"))
    app.add_exception_handler(TooManySamples, _explain(413, "Too large"))
    app.add_exception_handler(TooLarge, _explain(413, "Too large"))
    app.add_exception_handler(ExomirError, _explain(422, "exomir could not do this"))

    def token_problem(authorization: str | None) -> str | None:
        """Why a write is not allowed (None when the bearer token is the server's)."""
        if settings.read_only:
            return "this server is read-only (it accepts no evidence)"
        scheme, _, given = (authorization or "").strip().partition(" ")
        given = given.strip() if scheme.lower() == "bearer" else ""  # RFC 7235: the scheme is case-insensitive
        if not given or not hmac.compare_digest(given.encode(), str(settings.api_token).encode()):
            return "a valid bearer token is needed to add evidence"
        return None

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError):
        # a body that is not even JSON fails before the token dependency runs: strangers still get 403
        if request.method == "POST" and request.url.path == "/api/evidence":
            problem = token_problem(request.headers.get("authorization"))
            if problem:
                return JSONResponse({"detail": problem}, status_code=403)
        parts = []
        for err in exc.errors():
            where = ".".join(str(x) for x in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg', 'invalid')}")
        message = "; ".join(parts) or "invalid request"
        if _wants_json(request):
            return JSONResponse({"detail": message}, status_code=422)
        return page(request, "error.html", 422, title="Invalid request", message=message)

    @app.exception_handler(404)
    async def _not_found(request: Request, exc):
        detail = getattr(exc, "detail", "not found")
        if _wants_json(request):
            return JSONResponse({"detail": str(detail)}, status_code=404)
        return page(request, "error.html", 404, title="Not found", message=str(detail))

    # ---- JSON API ---------------------------------------------------------------------------

    @app.get("/api/health", response_model=Health, tags=["api"])
    def api_health() -> Health:
        """Server status: version, whether writes are possible, models and reports on offer."""
        refused = [RefusedModelInfo(file=r.path.name, reason=r.reason.replace(str(r.path), r.path.name))
                   for r in state.refused]  # fmt: skip
        return Health(status="ok", version=__version__, read_only=settings.read_only,
                      models=len(state.models), reports=len(state.reports), refused_models=refused)  # fmt: skip

    @app.get("/api/mirnas", response_model=list[MirnaEntry], tags=["knowledge base"])
    def api_mirnas() -> list[dict]:
        """Every miRNA in the knowledge base with its number of evidence records."""
        return state.view(("mirnas",), lambda: knowledge.mirna_names(state.kb()))

    def _mirna(name: str) -> dict:
        view = state.view(("mirna", name), lambda: knowledge.mirna_view(state.kb(), state.graph(), name))
        if view is None:
            view = state.views.get(("identity", name), lambda: knowledge.identity_view(name))
        if not view.get("names"):
            raise HTTPException(404, view["why"])
        return view

    @app.get("/api/mirna/{name}", response_model=MirnaView, responses=ERRORS, tags=["knowledge base"])
    def api_mirna(name: Annotated[str, PathParam(min_length=1, max_length=80)]) -> dict:
        """All evidence about one miRNA (any name form: miR-21, hsa-miR-21-5p, MIMAT0000076); a valid
        miRBase miRNA outside the curated set gets its identity, miRTarBase targets and HMDD associations."""
        return _mirna(name)

    @app.get("/api/search", response_model=SearchResult, responses=ERRORS, tags=["knowledge base"])
    def api_search(
        q: Annotated[str | None, Query(max_length=100, description="miRNA, gene or words of a claim")] = None,
        target: Annotated[str | None, Query(max_length=40, description="gene (HGNC symbol or alias)")] = None,
        cell: Cell | None = None,
        pathway: Pathway | None = None,
        hallmark: Hallmark | None = None,
        role: ClinicalRole | None = None,
        direction: Direction | None = None,
    ) -> dict:
        """Evidence records matching a query and every filter given."""
        filters = dict(target=target, cell=_code(cell), pathway=_code(pathway), hallmark=_code(hallmark),
                       role=_code(role), direction=_code(direction))  # fmt: skip
        records = state.view(("search", q, *sorted(filters.items())),
                             lambda: knowledge.records_json(knowledge.search(state.kb(), q, **filters)))  # fmt: skip
        return {"count": len(records), "records": records}

    @app.get("/api/conflicts", response_model=list[dict[str, Any]], tags=["knowledge base"])
    def api_conflicts() -> list[dict]:
        """Claims that disagree (kept side by side, never merged)."""
        return state.view(("conflicts",), lambda: [{k: knowledge.clean(v) for k, v in row.items()}
                                                    for _, row in state.kb().conflicts().iterrows()])  # fmt: skip

    @app.get("/api/network", response_model=dict[str, Any], responses=ERRORS, tags=["knowledge base"])
    def api_network(hallmark: Hallmark | None = None, cell: Cell | None = None) -> dict:
        """The transfer network as Cytoscape JSON (optionally only one hallmark or cell type)."""
        from exomir.kb import build_network, cytoscape_json

        def compute():
            if hallmark or cell:
                return cytoscape_json(build_network(state.kb().table(), hallmark=_code(hallmark), cell=_code(cell)))
            return cytoscape_json(state.graph())

        return state.view(("network", _code(hallmark), _code(cell)), compute)

    @app.get("/api/network.graphml", responses={200: {"content": {"application/xml": {}}}}, tags=["knowledge base"],
             response_class=Response)  # fmt: skip
    def api_network_graphml() -> Response:
        """The transfer network as GraphML (Cytoscape, Gephi, yEd)."""
        text = state.view(("graphml",), lambda: knowledge.graphml(state.graph()))
        return Response(text, media_type="application/xml",
                        headers={"Content-Disposition": 'attachment; filename="exomir-network.graphml"'})  # fmt: skip

    @app.get("/api/reports", response_model=list[ReportInfo], tags=["reports"])
    def api_reports() -> list[dict]:
        """Reports found in the server's results folder, by opaque id."""
        state.refresh_files()
        return [{"id": r.id, "path": r.relative, "title": r.title, "size": r.size, "modified": r.modified,
                 "url": f"/reports/{r.id}"} for r in state.reports.values()]  # fmt: skip

    @app.get("/api/models", response_model=list[ModelInfo], tags=["scoring"])
    def api_models() -> list[dict]:
        """Locked models this server scores with (verified checksums)."""
        return [m.summary() for m in state.models.values()]

    def _model(model_id: str | None):
        if not state.models:
            raise HTTPException(404, "this server offers no locked model for scoring")
        if model_id is None or model_id == "":
            return next(iter(state.models.values()))
        if model_id not in state.models:
            raise HTTPException(404, f"no model with id {model_id!r}")
        return state.models[model_id]

    async def _read_upload(upload: UploadFile | None) -> bytes | None:
        if upload is None:
            return None
        data = await upload.read(settings.max_upload_bytes + 1)
        return check_limits(data, max_bytes=settings.max_upload_bytes, max_lines=settings.max_lines)

    async def _score(expression: UploadFile, clinical: UploadFile | None, model_id: str | None) -> tuple:
        from starlette.concurrency import run_in_threadpool

        model = _model(model_id)
        expr = await _read_upload(expression)
        clin = await _read_upload(clinical) if clinical is not None and clinical.filename else None
        scores = await run_in_threadpool(score_upload, model, expr, expression.filename, clin,
                                         clinical.filename if clinical is not None else None,
                                         max_samples=settings.max_samples)  # fmt: skip
        rid = state.results.put(scores_csv(scores), model.checksum[:16])
        return model, scores, rid

    @app.post("/api/score", response_model=ScoreResult, responses=ERRORS, tags=["scoring"])
    async def api_score(
        expression: Annotated[UploadFile, File(description="expression table of the samples (CSV/TSV)")],
        clinical: Annotated[UploadFile | None, File(description="clinical table (when the model uses AFP)")] = None,
        model: Annotated[str | None, Form(max_length=16, description="model id (default: the first)")] = None,
    ) -> dict:
        """Score an uploaded table: calibrated probability, class, contributions and QC per sample."""
        locked, scores, rid = await _score(expression, clinical, model)
        case = locked.content["task"]["positive_class"]
        return {"model": locked.summary(), "n_samples": len(scores), "n_called": int((scores["class"] == case).sum()),
                "result_id": rid, "download": f"/api/scores/{rid}", "scores": scores_records(scores)}  # fmt: skip

    @app.get("/api/scores/{result_id}", responses={200: {"content": {"text/csv": {}}}, **ERRORS}, tags=["scoring"],
             response_class=Response)  # fmt: skip
    def api_scores_csv(result_id: Annotated[str, PathParam(max_length=32)]) -> Response:
        """A scored table as CSV (kept for the last few uploads only)."""
        item = state.results.get(result_id) if RID.match(result_id) else None
        if item is None:
            raise HTTPException(404, "no such scored table (they are kept for the last uploads only)")
        csv, model_id = item
        return Response(csv, media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="exomir-scores-{model_id}.csv"'})

    def require_token(authorization: Annotated[str | None, Header()] = None) -> None:
        """Writes need the server's token; checked before the body, so no token means 403 whatever is sent."""
        problem = token_problem(authorization)
        if problem:
            raise HTTPException(403, problem)

    @app.post("/api/evidence", response_model=EvidenceReceipt, tags=["knowledge base"],
              dependencies=[Depends(require_token)],
              responses={403: {"model": Problem}, 422: {"model": Problem}})  # fmt: skip
    def api_add_evidence(submission: EvidenceSubmission) -> dict:
        """Add a lab's own evidence records (needs the server's EXOMIR_API_TOKEN as a bearer token)."""
        from exomir.kb import import_lab_file, read_evidence

        with tempfile.TemporaryDirectory(prefix="exomir-evidence-") as folder:
            path = Path(folder) / f"{submission.name}.yaml"
            path.write_text(yaml.safe_dump({"provenance": {"name": submission.name}, "records": submission.records},
                                           sort_keys=False, allow_unicode=True), encoding="utf-8")  # fmt: skip
            try:
                n = len(read_evidence(path, name=submission.name).records)
                import_lab_file(path, name=submission.name, mode=submission.mode)
            except InputError as exc:  # in the words of the API: no server folder, no command-line option
                text = str(exc).replace(str(path), f"submission {submission.name!r}")
                text = text.replace("another --name, or --append to add these records, or --replace to swap the file",
                                    'another name, or "mode": "append" to add these records')  # fmt: skip
                raise InputError(without_flags(text)) from None
        state.refresh_kb()
        return {"imported": n, "name": submission.name, "total_records": state.query(lambda: len(state.kb().table()))}

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException):
        if _wants_json(request) or exc.status_code not in (404,):
            return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code)
        return page(request, "error.html", exc.status_code, title="Not found", message=str(exc.detail))

    # ---- pages -------------------------------------------------------------------------------

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return FileResponse(HERE / "static" / "icon.svg", media_type="image/svg+xml")

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs_page(request: Request):
        reference = state.views.get(("apidocs",), lambda: api_reference(app.openapi()))
        return page(request, "docs.html", api=reference)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        def compute():
            kb = state.kb()
            return knowledge.mirna_names(kb), len(kb.table()), len(kb.conflicts())

        def context():
            mirnas, n_records, n_conflicts = state.view(("home",), compute)
            return dict(mirnas=mirnas, n_records=n_records, n_conflicts=n_conflicts, n_reports=len(state.reports),
                        n_models=len(state.models))  # fmt: skip

        return kb_page((len(state.reports), len(state.models)), "index.html", context)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str | None = Query(None, max_length=100),
                    hallmark: str | None = Query(None, max_length=40), cell: str | None = Query(None, max_length=40),
                    target: str | None = Query(None, max_length=40)):  # fmt: skip
        from exomir.kb.vocab import Cell, Hallmark

        def context():
            records = state.view(("search-page", q, hallmark, cell, target), lambda: knowledge.records_json(
                knowledge.search(state.kb(), q, hallmark=hallmark, cell=cell, target=target)))  # fmt: skip
            return dict(q=q or "", hallmark=hallmark or "", cell=cell or "", target=target or "", records=records,
                        hallmarks=[(h.value, h.label) for h in Hallmark], cells=[(c.value, c.label) for c in Cell])  # fmt: skip

        return kb_page((q, hallmark, cell, target), "search.html", context)

    @app.get("/mirna/{name}", response_class=HTMLResponse, include_in_schema=False)
    def mirna_page(request: Request, name: str = PathParam(max_length=80)):
        view = _mirna(name)  # raises 404 for a name miRBase does not know
        return kb_page((name,), "mirna.html", lambda: {"v": view})

    @app.get("/network", response_class=HTMLResponse, include_in_schema=False)
    def network_page(request: Request):
        n_nodes, n_edges = state.view(("network-size",), lambda: (state.graph().number_of_nodes(),
                                                                  state.graph().number_of_edges()))  # fmt: skip
        return kb_page((), "network.html", lambda: {"n_nodes": n_nodes, "n_edges": n_edges})

    @app.get("/network/full", response_class=HTMLResponse, include_in_schema=False)
    def network_full():
        return HTMLResponse(state.view(("network-html",), state.network_html))

    @app.get("/reports", response_class=HTMLResponse, include_in_schema=False)
    def reports_page(request: Request):
        state.refresh_files()
        return page(request, "reports.html", reports=list(state.reports.values()),
                    configured=settings.results is not None)  # fmt: skip

    @app.get("/reports/{report_id}", include_in_schema=False)
    def report_file(report_id: str = PathParam(max_length=16)):
        report = state.reports.get(report_id) if HEX16.match(report_id) else None
        if report is None:
            state.refresh_files()
            report = state.reports.get(report_id) if HEX16.match(report_id) else None
        if report is None or not report.path.is_file():
            raise HTTPException(404, "no report with this id")
        return FileResponse(report.path, media_type="text/html")

    @app.get("/score", response_class=HTMLResponse, include_in_schema=False)
    def score_form(request: Request):
        return page(request, "score.html", models=[m.summary() for m in state.models.values()], result=None)

    @app.post("/score", response_class=HTMLResponse, include_in_schema=False)
    async def score_page(request: Request, expression: UploadFile = File(...), clinical: UploadFile | None = File(None),
                         model: str | None = Form(None)):  # fmt: skip
        locked, scores, rid = await _score(expression, clinical, model)
        features = [f["name"] for f in locked.features]
        rows = scores_records(scores)
        case = locked.content["task"]["positive_class"]
        return page(request, "score.html", models=[m.summary() for m in state.models.values()],
                    result={"model": locked.summary(), "rows": rows, "features": features, "rid": rid,
                            "n_called": int((scores["class"] == case).sum()), "case": case,
                            "filename": expression.filename or "table"})  # fmt: skip

    return app
