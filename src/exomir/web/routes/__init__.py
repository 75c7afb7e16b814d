"""The web app's routes, one router per concern: health, knowledge base, reports, scoring, lab
evidence, the API reference and static files. Each module's ``router`` builds its APIRouter over
the server's :class:`~exomir.web.state.State`."""
