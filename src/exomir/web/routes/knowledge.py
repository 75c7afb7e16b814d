"""The knowledge base and transfer network: the JSON API (miRNAs, search, conflicts, network as
Cytoscape JSON and GraphML) and the pages people read (home, search, one miRNA, the network)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path as PathParam, Query, Request
from fastapi.responses import HTMLResponse, Response

from exomir.kb.vocab import Cell, ClinicalRole, Direction, Hallmark, Pathway
import exomir.web.knowledge as knowledge
from exomir.web.pages import Pages
from exomir.web.schemas import ERRORS, MirnaEntry, MirnaView, SearchResult
from exomir.web.state import State
from exomir.kb import build_network, cytoscape_json


def _code(member) -> str | None:
    return None if member is None else str(member.value)


def mirna_or_404(state: State, name: str) -> dict:
    """The view of one miRNA: curated evidence, else its miRBase identity; 404 for an unknown name."""
    view = state.view(("mirna", name), lambda: knowledge.mirna_view(state.kb(), state.graph(), name))
    if view is None:
        view = state.views.get(("identity", name), lambda: knowledge.identity_view(name))
    if not view.get("names"):
        raise HTTPException(404, view["why"])
    return view


def router(state: State, pages: Pages) -> APIRouter:
    routes = APIRouter()
    _api(routes, state)
    _pages(routes, state, pages)
    return routes


def _api(routes: APIRouter, state: State) -> None:
    @routes.get("/api/mirnas", response_model=list[MirnaEntry], tags=["knowledge base"])
    def api_mirnas() -> list[dict]:
        """Every miRNA in the knowledge base with its number of evidence records."""
        return state.view(("mirnas",), lambda: knowledge.mirna_names(state.kb()))

    @routes.get("/api/mirna/{name}", response_model=MirnaView, responses=ERRORS, tags=["knowledge base"])
    def api_mirna(name: Annotated[str, PathParam(min_length=1, max_length=80)]) -> dict:
        """All evidence about one miRNA (any name form: miR-21, hsa-miR-21-5p, MIMAT0000076); a valid
        miRBase miRNA outside the curated set gets its identity, miRTarBase targets and HMDD associations."""
        return mirna_or_404(state, name)

    @routes.get("/api/search", response_model=SearchResult, responses=ERRORS, tags=["knowledge base"])
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

    @routes.get("/api/conflicts", response_model=list[dict[str, Any]], tags=["knowledge base"])
    def api_conflicts() -> list[dict]:
        """Claims that disagree (kept side by side, never merged)."""
        return state.view(("conflicts",), lambda: [{k: knowledge.clean(v) for k, v in row.items()}
                                                    for _, row in state.kb().conflicts().iterrows()])  # fmt: skip

    @routes.get("/api/network", response_model=dict[str, Any], responses=ERRORS, tags=["knowledge base"])
    def api_network(hallmark: Hallmark | None = None, cell: Cell | None = None) -> dict:
        """The transfer network as Cytoscape JSON (optionally only one hallmark or cell type)."""
        def compute():
            if hallmark or cell:
                return cytoscape_json(build_network(state.kb().table(), hallmark=_code(hallmark), cell=_code(cell)))
            return cytoscape_json(state.graph())

        return state.view(("network", _code(hallmark), _code(cell)), compute)

    @routes.get("/api/network.graphml", responses={200: {"content": {"application/xml": {}}}},
                tags=["knowledge base"], response_class=Response)  # fmt: skip
    def api_network_graphml() -> Response:
        """The transfer network as GraphML (Cytoscape, Gephi, yEd)."""
        text = state.view(("graphml",), lambda: knowledge.graphml(state.graph()))
        return Response(text, media_type="application/xml",
                        headers={"Content-Disposition": 'attachment; filename="exomir-network.graphml"'})  # fmt: skip


def _pages(routes: APIRouter, state: State, pages: Pages) -> None:
    @routes.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        def compute():
            kb = state.kb()
            return knowledge.mirna_names(kb), len(kb.table()), len(kb.conflicts())

        def context():
            mirnas, n_records, n_conflicts = state.view(("home",), compute)
            return dict(mirnas=mirnas, n_records=n_records, n_conflicts=n_conflicts, n_reports=len(state.reports),
                        n_models=len(state.models))  # fmt: skip

        return pages.kb_page((len(state.reports), len(state.models)), "index.html", context)

    @routes.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str | None = Query(None, max_length=100),
                    hallmark: str | None = Query(None, max_length=40), cell: str | None = Query(None, max_length=40),
                    target: str | None = Query(None, max_length=40)):  # fmt: skip
        def context():
            records = state.view(("search-page", q, hallmark, cell, target), lambda: knowledge.records_json(
                knowledge.search(state.kb(), q, hallmark=hallmark, cell=cell, target=target)))  # fmt: skip
            return dict(q=q or "", hallmark=hallmark or "", cell=cell or "", target=target or "", records=records,
                        hallmarks=[(h.value, h.label) for h in Hallmark], cells=[(c.value, c.label) for c in Cell])  # fmt: skip

        return pages.kb_page((q, hallmark, cell, target), "search.html", context)

    @routes.get("/mirna/{name}", response_class=HTMLResponse, include_in_schema=False)
    def mirna_page(request: Request, name: str = PathParam(max_length=80)):
        view = mirna_or_404(state, name)  # raises 404 for a name miRBase does not know
        return pages.kb_page((name,), "mirna.html", lambda: {"v": view})

    @routes.get("/network", response_class=HTMLResponse, include_in_schema=False)
    def network_page(request: Request):
        n_nodes, n_edges = state.view(("network-size",), lambda: (state.graph().number_of_nodes(),
                                                                  state.graph().number_of_edges()))  # fmt: skip
        return pages.kb_page((), "network.html", lambda: {"n_nodes": n_nodes, "n_edges": n_edges})

    @routes.get("/network/full", response_class=HTMLResponse, include_in_schema=False)
    def network_full():
        return HTMLResponse(state.view(("network-html",), state.network_html))
