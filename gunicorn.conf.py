"""gunicorn settings for serving the archive in production (``make serve``).

    .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app

Each value can be changed from the environment:

- ``ARCHIVE_BIND``: where to listen, ``127.0.0.1:8000`` by default (behind a
  reverse proxy on the same machine); several addresses separated by commas, or
  ``unix:/run/archive/web.sock``.
- ``ARCHIVE_WEB_WORKERS``: processes, one per core by default (pages spend their
  time in Python: rendering, decrypting transcript text, so the processes, not the
  threads, give the parallelism).
- ``ARCHIVE_WEB_THREADS``: threads per process, 4 by default. A thread waits on
  the database, on a file being streamed or on an upload arriving, so a few per
  process keep the cores busy; more would only share one process's interpreter
  lock and make every page wait longer (bench/load.py: with 50 researchers on 2
  cores, 8 threads gave a p95 of 290 to 340 ms, 4 threads 236 ms). Behind nginx
  an idle browser connection holds no thread (nginx holds it); facing browsers
  directly, each idle kept-alive connection would, so never expose gunicorn.
- ``ARCHIVE_WEB_TIMEOUT``: seconds a silent process may take before it is
  restarted, 120 by default. With gthread workers this is the process's own
  heartbeat, not a limit on a request: a long streaming upload does not trip it.
- ``ARCHIVE_ACCESS_LOG``: a file, or ``-`` (the default) for standard output.

The transcription worker is a separate process: ``flask --app wsgi worker``.
"""

from __future__ import annotations

import os


def _setting(name: str, default: str) -> str:
    return os.environ.get(f"ARCHIVE_{name}") or default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


bind = [address.strip() for address in _setting("BIND", "127.0.0.1:8000").split(",")]
worker_class = "gthread"
workers = int(_setting("WEB_WORKERS", str(_cores())))
threads = int(_setting("WEB_THREADS", "4"))

timeout = int(_setting("WEB_TIMEOUT", "120"))
# On a restart, requests in flight (an upload, a download) get this long to finish.
graceful_timeout = 120
keepalive = 5

# The app alone decides whether to believe X-Forwarded-* (ARCHIVE_TRUSTED_PROXIES,
# werkzeug's ProxyFix). gunicorn's own handling, which trusts X-Forwarded-Proto
# from 127.0.0.1 by default, is turned off so that there is one rule, in one place.
forwarded_allow_ips = ""
secure_scheme_headers = {}

# No management socket in $HOME: services run as users without one.
control_socket_disable = True

accesslog = _setting("ACCESS_LOG", "-")
errorlog = "-"
# The path without its query string: a search query or a ``next=`` may hold a name,
# and log lines must never carry one. No referrer, for the same reason. %(M)s is the
# time taken in milliseconds.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
