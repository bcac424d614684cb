"""HTTP security headers (a strict CSP, no framing, no sniffing, no referrer leaks),
and which client address and scheme to believe behind a reverse proxy."""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if response.mimetype == "text/html":
        # Pages may show protected content: keep them out of shared caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def trust_proxies(app: Flask) -> None:
    """Believe ``X-Forwarded-For`` and ``X-Forwarded-Proto`` only from configured proxies.

    ``TRUSTED_PROXIES`` (``ARCHIVE_TRUSTED_PROXIES``) is the number of proxies in
    front of the app. With 0, the default, the headers are ignored: anyone can send
    them, and believing them would let a client pick the address the sign-in rate
    limit counts against. With N, the Nth address from the right of
    ``X-Forwarded-For`` (the one the outermost trusted proxy saw) becomes
    ``remote_addr`` and ``X-Forwarded-Proto`` the scheme. ``Host`` is taken as the
    proxy passes it (``proxy_set_header Host $host``); ``X-Forwarded-Host`` is not read.
    """
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def init_app(app: Flask) -> None:
    app.after_request(_headers)
    trust_proxies(app)
