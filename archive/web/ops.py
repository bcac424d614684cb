"""For operators: ``/healthz`` for load balancers and monitors, ``/metrics`` for
Prometheus (from this machine, or for admins). Neither says a name or a title."""

from __future__ import annotations

import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_login import current_user
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, SummaryMetricFamily

from archive import policy
from archive.models import JOB_STATUSES
from archive.operations import health
from archive.web.access import public
from archive.web.uploads import is_upload

bp = Blueprint("ops", __name__)


class _JobCollector:
    """Job figures read from the database at each scrape, so every web process
    reports the same (the workers are other processes)."""

    def collect(self):
        counts = health.job_counts()
        jobs = GaugeMetricFamily(
            "archive_jobs",
            "Transcription jobs by status (queued, processing, done, failed).",
            labels=["status"],
        )
        for status in JOB_STATUSES:
            jobs.add_metric([status], counts.get(status, 0))
        yield jobs
        factors = health.real_time_factors()
        rtf = SummaryMetricFamily(
            "archive_job_real_time_factor",
            "Time to transcribe over audio duration, jobs finished in the last 24 hours.",
        )
        rtf.add_metric([], count_value=len(factors), sum_value=sum(factors))
        yield rtf


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "archive_request_seconds",
            "Time to answer a request, by route (the URL rule, never the path).",
            ["route", "method", "status"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.upload_bytes = Counter(
            "archive_upload_bytes", "Bytes of uploads accepted.", registry=self.registry
        )
        self.registry.register(_JobCollector())


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _observe(response):
    started = g.pop("request_started", None)
    metrics: Metrics = current_app.extensions["archive_metrics"]
    if started is not None:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.latency.labels(route, request.method, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    if is_upload() and response.status_code in (201, 202, 302) and request.content_length:
        metrics.upload_bytes.inc(request.content_length)
    return response


def _from_this_machine() -> bool:
    """A scraper on this machine: a loopback address and no proxy in between (a
    request passed on by nginx also comes from 127.0.0.1, with X-Forwarded-For)."""
    forwarded = request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded")
    return request.remote_addr in ("127.0.0.1", "::1") and not forwarded


@bp.get("/healthz")
@public
def healthz():
    checks = health.check(
        current_app.config["RECORDINGS_DIR"], current_app.config["HEALTH_MIN_FREE_MB"] << 20
    )
    failing = [name for name, c in checks.items() if not c.ok]
    body = {
        "status": "failing" if failing else "ok",
        "failing": failing,
        "checks": {name: {"ok": c.ok, "detail": c.detail} for name, c in checks.items()},
    }
    response = jsonify(body)
    response.status_code = 503 if failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@public
def metrics():
    policy.require_operator(current_user, from_this_machine=_from_this_machine())
    registry = current_app.extensions["archive_metrics"].registry
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.extensions["archive_metrics"] = Metrics()
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)
