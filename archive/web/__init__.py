"""Blueprints, deny-by-default sign-in, security headers, static files and error pages."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from archive.web import access, assets, errors, security


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id a database column can hold, else a 404
    (a 40-digit id must not reach the database, where it overflows)."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register_web(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    from archive.web import (
        account,
        admin,
        api,
        auth,
        consent,
        iiif,
        interviews,
        main,
        oai,
        research,
        review,
        speakers,
    )
    from archive.web import audit as audit_pages

    blueprints = (
        auth,
        main,
        admin,
        account,
        audit_pages,
        interviews,
        review,
        speakers,
        consent,
        research,
        oai,
        iiif,
    )
    for module in blueprints:
        app.register_blueprint(module.bp)
    api.init_app(app)
    from archive.web import ops

    ops.init_app(app)

    access.init_app(app)
    security.init_app(app)
    assets.init_app(app)
    errors.init_app(app)

    from archive.policy import can

    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["speaker_name"] = _speaker_name
    app.jinja_env.globals["shown"] = _shown
    app.jinja_env.filters["clock"] = clock
    # Last, so that every view (blueprints, API, operations) is one unit of work.
    from archive.web import transactions

    transactions.init_app(app)


def clock(seconds: float | None) -> str:
    """12.5 -> "0:12", 3725 -> "1:02:05": how transcribers write times."""
    if seconds is None:
        return "—"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _speaker_name(speaker) -> str:
    from flask_login import current_user

    from archive.interviews import identity

    return identity.display_name(current_user, speaker)


def _shown(interview, text) -> str:
    """A free-text value about ``interview`` (None: about the archive, such as a
    collection's name) as the signed-in user may read it: names hidden as in the
    transcript. Templates print typed text only through this."""
    from flask import g
    from flask_login import current_user

    from archive.transcripts import redaction

    hiders = g.setdefault("hiders", {})
    key = interview.id if interview is not None else None
    if key not in hiders:
        hiders[key] = redaction.hider(current_user, interview)
    return hiders[key](text or "")
