"""The HTML side of the web app: the Jinja templates with exomir's filters, and the two ways a page
is answered (rendered per request, or rendered once per knowledge-base state and kept)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from exomir._version import __version__
from exomir.kb.vocab import labels_of
import exomir.web.knowledge as knowledge
from exomir.web.views import ViewCache

TEMPLATES = Path(__file__).parent / "templates"


def _active(name: str) -> str:
    """The navigation entry a template belongs to (``search.html`` lights "search")."""
    return name.split(".")[0]


class Pages:
    """Renders the templates; ``views`` keeps the pages that depend on the knowledge base only."""

    def __init__(self, views: ViewCache, *, read_only: bool) -> None:
        self.views = views
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.templates.env.filters["label"] = labels_of
        self.templates.env.filters["links"] = knowledge.citation_links
        self.templates.env.filters["reference"] = knowledge.reference_markup
        self.templates.env.globals.update(version=__version__, read_only=read_only)

    def page(self, request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
        """A page rendered for this request."""
        return self.templates.TemplateResponse(request, name, {"active": _active(name), **context}, status_code=status)

    def kb_page(self, key: tuple, name: str, context: Callable[[], dict]) -> HTMLResponse:
        """A knowledge-base page, rendered once per store state (pages do not depend on the request)."""
        def render() -> str:
            return self.templates.get_template(name).render({"active": _active(name), **context()})

        return HTMLResponse(self.views.get(("page", name, *key), render))
