"""The JSON API under /api/v1: browser session or ``Authorization: Bearer``.

The blueprint and its shared helpers are in ``base``; each module here adds its
routes to it when imported.
"""

from __future__ import annotations

from flask import Flask

from archive.extensions import csrf
from archive.web.api import (  # noqa: F401  (their routes register on bp)
    audio,
    consent,
    exports,
    interviews,
    research,
    review,
    segments,
    speakers,
    users,
)
from archive.web.api.base import bp


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)
