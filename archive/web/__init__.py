"""Blueprints, deny-by-default sign-in, security headers, static files and error pages."""

from __future__ import annotations

from flask import Flask, g
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from archive.interviews import identity
from archive.policy import can
from archive.timecodes import clock
from archive.transcripts import redaction
from archive.web import (
    access,
    account,
    admin,
    api,
    assets,
    auth,
    consent,
    errors,
    iiif,
    interviews,
    main,
    oai,
    ops,
    redactions,
    research,
    review,
    security,
    speakers,
)
from archive.web import audit as audit_pages


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id a database column can hold, else a 404
    (a 40-digit id must not reach the database, where it overflows)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_web(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    blueprints = (
        auth,
        main,
        admin,
        account,
        audit_pages,
        interviews,
        review,
        speakers,
        redactions,
        consent,
        research,
        oai,
        iiif,
    )
    for module in blueprints:
        app.register_blueprint(module.bp)
    api.init_app(app)
    ops.init_app(app)

    access.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    errors.init_app(app)

    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["speaker_name"] = _speaker_name
    app.jinja_env.globals["shown"] = _shown
    app.jinja_env.filters["clock"] = clock
    # Last, so that every view (blueprints, API, operations) is one unit of work.
    from archive.web import transactions

    transactions.init_app(app)


def _speaker_name(speaker) -> str:
    return identity.display_name(current_user, speaker)


def _shown(interview, text) -> str:
    """A free-text value about ``interview`` (None: about the archive, such as a
    collection's name) as the signed-in user may read it: names hidden as in the
    transcript. Templates print typed text only through this."""
    hiders = g.setdefault("hiders", {})
    key = interview.id if interview is not None else None
    if key not in hiders:
        hiders[key] = redaction.hider(current_user, interview)
    return hiders[key](text or "")
