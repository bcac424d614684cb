"""Blueprints, deny-by-default sign-in, security headers and error pages."""

from __future__ import annotations

from flask import Flask

from archive.web import access, errors, security


def register_web(app: Flask) -> None:
    from archive.web import account, admin, api, auth, main
    from archive.web import audit as audit_pages

    for module in (auth, main, admin, account, audit_pages):
        app.register_blueprint(module.bp)
    api.init_app(app)

    access.init_app(app)
    security.init_app(app)
    errors.init_app(app)

    from archive.policy import can

    app.jinja_env.globals["can"] = can
