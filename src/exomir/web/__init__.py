"""The exomir web app (FastAPI): knowledge base, transfer network, reports and scoring.

:func:`create_app` builds the application from :class:`WebSettings`; ``exomir serve`` runs it.
"""

from __future__ import annotations

from exomir.web.app import create_app
from exomir.web.settings import WebSettings

__all__ = ["WebSettings", "create_app"]
