"""Researchers under load: transcript pages and searches against gunicorn, with wrk.

    .venv/bin/python -m bench.load [--researchers 50] [--duration 60] [--think-ms 500:2500]
        [--interviews 24] [--minutes 60] [--layouts default,2x8,4x2] [--mix page:6,search:3,api:1]

Seeds a scratch archive through the services: a collection of ``--interviews``
interviews of about ``--minutes`` each (segments of 5 to 25 words drawn from the
40,000 most frequent English words of ``wordfreq``, weighted by frequency, with
timed words, like a machine transcript; narrators with real names and aliases
that the text mentions now and then, so redaction has work to do; half the
interviews open, half on request), ``--researchers`` researcher accounts whose
access request for the collection a custodian approved, and the search index.

Then starts gunicorn with the production settings (``gunicorn.conf.py``) behind a
private nginx (Debian package ``nginx-light``; configured as in
docs/deployment.md, ``ARCHIVE_TRUSTED_PROXIES=1``), signs every researcher in
through ``/login`` (a real session cookie each), and runs ``wrk`` (Debian package
``wrk``) with ``bench/load.lua``: one kept-alive connection per researcher for
``--duration`` seconds, each request as a random researcher, with a think time
drawn between the two ``--think-ms`` bounds (``0`` for none: the saturation case,
for the most requests per second). The mix: transcript pages ``/interviews/ID`` (the whole
transcript, rendered and redacted for the reader; reading an on-request interview
writes an audit event), search pages ``/search?q=...`` (one or two words, a
phrase, a prefix) and the JSON search ``/api/v1/search?q=...``.

Before the load, every gunicorn process has read every interview a few times, as
after some use (the first read of an interview in a process builds its name
matcher). Each ``--layouts`` entry (gunicorn processes x threads) and each
``--think-ms`` entry is run in turn on the same seeded archive.

Prints wrk's p50, p95, p99, errors and requests per second, and the server-side
p50 and p95 of each kind from gunicorn's access log (its ``%(M)s``: the time in
the app, including any wait for the GIL or a core).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from multiprocessing.pool import ThreadPool
from pathlib import Path

import numpy as np

from bench.common import REPO, ScratchArchive

PASSWORD = "researcher password"  # noqa: S105 (accounts of a scratch archive)
NARRATORS = [
    ("Svetlana", "Gulnara Bekova", ["Гульнара", "Gulya"]),
    ("Aigerim", "Dana Seitkali", ["Данa"]),
    ("Marat", "Yerlan Abenov", ["Ерлан"]),
    ("Timur", "Asel Nurova", ["Әсел"]),
]


def vocabulary() -> tuple[list[str], np.ndarray]:
    from wordfreq import top_n_list, word_frequency

    from archive import search

    words = [w for w in top_n_list("en", 40_000) if search.WORD.fullmatch(w)]
    weights = np.array([word_frequency(w, "en") for w in words], dtype=np.float64)
    return words, weights / weights.sum()


def seed(app, interviews_count: int, minutes: float, researchers: int, seed_value: int) -> dict:
    """Fill the scratch archive; returns the ids and words the load needs."""
    from archive import accounts, consent, interviews, unit_of_work
    from archive.extensions import db
    from archive.models import Collection, Recording, Segment
    from archive.search import indexing

    rng = np.random.default_rng(seed_value)
    pick = random.Random(seed_value)
    words, weights = vocabulary()
    with app.app_context():
        custodian = accounts.create_user(None, "custodian@example.org", "custodian", PASSWORD)
        interviewer = accounts.create_user(None, "interviewer@example.org", "interviewer", PASSWORD)
        unit_of_work.commit()
        collection = Collection(title="January events")
        db.session.add(collection)
        db.session.commit()
        ids = []
        segments_total = 0
        for number in range(interviews_count):
            pseudonym, real_name, aliases = NARRATORS[number % len(NARRATORS)]
            interview = interviews.create_interview(
                interviewer,
                {
                    "title": f"Witness {number + 1}",
                    "summary": "A witness of the January events in Almaty.",
                    "language": "en",
                    "collection": collection.id,
                    "speakers": [
                        {"pseudonym": "Interviewer", "role": "interviewer"},
                        {
                            "pseudonym": pseudonym,
                            "role": "narrator",
                            "real_name": real_name,
                            "aliases": aliases,
                        },
                    ],
                },
            )
            unit_of_work.commit()
            asker, narrator = interview.speakers
            length = float(rng.uniform(0.5, 1.5) * minutes * 60)
            recording = Recording(
                interview_id=interview.id,
                master_key=f"masters/bench/{number}.flac",
                sha256="0" * 64,
                size_bytes=1,
                duration=length,
                channels=1,
                sample_rate=16_000,
                status="done",
                progress=1.0,
                language="en",
            )
            db.session.add(recording)
            db.session.flush()
            clock, ordinal = 0.0, 0
            rows = []
            while clock < length:
                count = int(rng.integers(5, 26))
                chosen = [words[i] for i in rng.choice(len(words), size=count, p=weights)]
                if pick.random() < 0.03:
                    chosen[pick.randrange(count)] = pick.choice([real_name, *aliases])
                chosen[0] = chosen[0].capitalize()
                duration = count * 0.36
                timed, t = [], clock
                for word in chosen:
                    timed.append(
                        {
                            "word": f" {word}",
                            "start": round(t, 2),
                            "end": round(t + 0.3, 2),
                            "probability": round(pick.uniform(0.6, 1.0), 2),
                        }
                    )
                    t += 0.36
                speaker = asker if ordinal % 6 == 0 else narrator
                rows.append(
                    Segment(
                        recording_id=recording.id,
                        speaker_id=speaker.id,
                        start=round(clock, 2),
                        end=round(clock + duration, 2),
                        text=" ".join(chosen) + ("?" if speaker is asker else "."),
                        words=timed,
                        avg_logprob=-0.3,
                        no_speech_prob=0.01,
                    )
                )
                clock += duration + 0.4
                ordinal += 1
            db.session.add_all(rows)
            interview.workflow_status = "approved"
            indexing.reindex(db.session, interview)
            db.session.commit()
            level = "open" if number % 2 == 0 else "on_request"
            consent.record_agreement(
                custodian, interview, {"access_level": level, "audio": "redacted"}
            )
            unit_of_work.commit()
            ids.append(interview.id)
            segments_total += len(rows)
            print(f"  interview {number + 1}: {len(rows)} segments", end="\r", flush=True)
        emails = []
        for number in range(researchers):
            email = f"researcher{number + 1}@example.org"
            user = accounts.create_user(None, email, "researcher", PASSWORD)
            unit_of_work.commit()
            request = consent.request_access(
                user,
                {
                    "collection_id": collection.id,
                    "purpose": "A study of testimony about the January events.",
                    "accept_terms": True,
                },
            )
            unit_of_work.commit()
            consent.decide(custodian, request, True)
            unit_of_work.commit()
            emails.append(email)
        common = [w for w in words[50:300] if len(w) > 3]
        rare = [w for w in words[3000:20000] if len(w) > 4]
        db.session.remove()
        db.engine.dispose()
    return {
        "interviews": ids,
        "segments": segments_total,
        "emails": emails,
        "common": common,
        "rare": rare,
    }


def queries(seeded: dict, pick: random.Random, count: int) -> list[str]:
    common, rare = seeded["common"], seeded["rare"]
    out = []
    for _ in range(count):
        kind = pick.choice(["word", "rare", "two", "phrase", "prefix"])
        if kind == "word":
            out.append(pick.choice(common))
        elif kind == "rare":
            out.append(pick.choice(rare))
        elif kind == "two":
            out.append(f"{pick.choice(common)} {pick.choice(rare)}")
        elif kind == "phrase":
            out.append(f'"{pick.choice(common)} {pick.choice(common)}"')
        else:
            out.append(pick.choice(common)[:4] + "*")
    return out


def paths(seeded: dict, mix: dict[str, int], seed_value: int, total: int = 2000) -> list[str]:
    pick = random.Random(seed_value + 1)
    kinds = [kind for kind, weight in mix.items() for _ in range(weight)]
    searches = iter(queries(seeded, pick, total))
    out = []
    for _ in range(total):
        kind = pick.choice(kinds)
        if kind == "page":
            out.append(f"/interviews/{pick.choice(seeded['interviews'])}")
        elif kind == "search":
            out.append("/search?" + urllib.parse.urlencode({"q": next(searches)}))
        else:
            out.append("/api/v1/search?" + urllib.parse.urlencode({"q": next(searches)}))
    return out


class Nginx:
    """A private nginx in front of gunicorn, as deployed (docs/deployment.md).

    It matters for the measurement, not only for realism: a researcher's browser
    keeps its connection open while they read, and gunicorn's threads wait on an
    open connection until its next request arrives, so 50 idle researchers talking
    to gunicorn directly would hold its 16 threads and stall everyone (wrk then
    reports seconds for requests gunicorn served in milliseconds). nginx holds the
    idle connections and opens one to gunicorn per request.
    """

    def __init__(self, upstream: int) -> None:
        if shutil.which("nginx") is None:
            sys.exit("nginx is not installed (Debian: apt-get install nginx-light).")
        self.root = Path(tempfile.mkdtemp(prefix="archive-bench-nginx-"))
        self.root.chmod(0o755)
        for folder in ("body", "proxy", "logs"):
            (self.root / folder).mkdir(mode=0o777)
            (self.root / folder).chmod(0o777)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        (self.root / "nginx.conf").write_text(
            f"""
worker_processes 1;
error_log {self.root}/logs/error.log warn;
pid {self.root}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {self.root}/body;
    proxy_temp_path {self.root}/proxy;
    proxy_max_temp_file_size 0;
    keepalive_timeout 65s;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""
        )
        self.command = ["nginx", "-c", str(self.root / "nginx.conf"), "-p", str(self.root)]
        subprocess.run(self.command, check=True, capture_output=True)

    def stop(self) -> None:
        subprocess.run([*self.command, "-s", "stop"], check=False, capture_output=True)
        for _ in range(50):
            if not (self.root / "nginx.pid").exists():
                break
            time.sleep(0.1)
        shutil.rmtree(self.root, ignore_errors=True)


def server_cpu(master: int) -> float:
    """CPU seconds (user and system) of gunicorn's master and its worker processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [master]
    for task in Path(f"/proc/{master}/task").iterdir():
        pids += [int(pid) for pid in (task / "children").read_text().split()]
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sign_in(base: str, email: str) -> str:
    """A real sign-in through the form; returns the Cookie header of the session."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"csrf_token": token, "email": email, "password": PASSWORD})
    response = opener.open(f"{base}/login", data=form.encode(), timeout=30)
    assert response.geturl().rstrip("/") == base, f"sign-in failed for {email}"
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def server_side(access_log: Path) -> dict[str, dict[str, float]]:
    """p50 and p95 per kind of request from the access log's %(M)s milliseconds."""
    pattern = re.compile(r'"GET (\S+) HTTP/[\d.]+" (\d+) \S+ (\d+)ms')
    times: dict[str, list[int]] = {}
    for line in access_log.read_text().splitlines():
        match = pattern.search(line)
        if not match:
            continue
        path = match.group(1)
        kind = (
            "page"
            if path.startswith("/interviews/")
            else "api"
            if path.startswith("/api/v1/search")
            else "search"
            if path.startswith("/search")
            else "other"
        )
        times.setdefault(kind, []).append(int(match.group(3)))
    out = {}
    for kind, values in sorted(times.items()):
        values.sort()
        out[kind] = {
            "count": len(values),
            "p50": statistics.median(values),
            "p95": values[min(len(values) - 1, int(len(values) * 0.95))],
        }
    return out


def run_load(scratch, seeded, args, layout: str, think: str, mix: dict[str, int]) -> None:
    """One gunicorn layout ("default" or WORKERSxTHREADS) under one think time."""
    think_ms = [int(v) for v in think.split(":")] if think != "0" else [0, 0]
    port = free_port()
    access_log = scratch.root / "access.log"
    env = {
        **scratch.env(),
        "ARCHIVE_BIND": f"127.0.0.1:{port}",
        "ARCHIVE_ACCESS_LOG": str(access_log),
        "ARCHIVE_LOGIN_RATE_LIMIT": "1000 per minute",
        "ARCHIVE_TRUSTED_PROXIES": "1",
    }
    if layout != "default":
        workers, threads = layout.split("x")
        env["ARCHIVE_WEB_WORKERS"], env["ARCHIVE_WEB_THREADS"] = workers, threads
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(scratch.root / "gunicorn.log", "wb"),  # noqa: SIM115
    )
    proxy = Nginx(port)
    base = proxy.url
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/login", timeout=5).read()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit((scratch.root / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.3)
        cookies = [sign_in(base, email) for email in seeded["emails"]]
        work = Path(tempfile.mkdtemp(dir=scratch.root))
        (work / "cookies.txt").write_text("\n".join(cookies) + "\n")
        (work / "paths.txt").write_text("\n".join(paths(seeded, mix, args.seed)) + "\n")
        # Warm up: every process reads every interview once (a first read builds
        # the interview's name matcher; later reads reuse it), as after some use.
        warm = [f"/interviews/{i}" for i in seeded["interviews"]] * 4
        with ThreadPool(4) as pool:
            pool.map(lambda path: _get(base + path, cookies[0]), warm)
        access_log.write_text("")
        load_before = os.getloadavg()
        cpu_before = server_cpu(server.pid)
        result = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{args.researchers}",
                f"-d{args.duration}s",
                "--timeout",
                "10s",
                "-s",
                str(REPO / "bench" / "load.lua"),
                base,
                "--",
                str(work / "cookies.txt"),
                str(work / "paths.txt"),
                str(think_ms[0]),
                str(think_ms[1]),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        load_after = os.getloadavg()
        cpu_used = server_cpu(server.pid) - cpu_before
    finally:
        proxy.stop()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    seconds = summary["duration_us"] / 1e6
    errors = sum(summary[k] for k in ("connect", "read", "write", "timeout", "not_200"))
    workers = env.get("ARCHIVE_WEB_WORKERS", "one per core")
    threads = env.get("ARCHIVE_WEB_THREADS", "4")
    print(
        f"\ngunicorn {workers} workers x {threads} threads; {args.researchers} researchers, "
        f"think time {think} ms, {args.duration} s, mix {args.mix}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after ({os.cpu_count()} cores)"
    )
    print(
        f"  requests {summary['requests']:,} ({summary['requests'] / seconds:.1f}/s), "
        f"errors {errors} (non-200 {summary['not_200']}, timeouts {summary['timeout']}, "
        f"connect/read/write {summary['connect']}/{summary['read']}/{summary['write']})"
    )
    print(
        f"  latency p50 {summary['p50_ms']:.0f} ms, p95 {summary['p95_ms']:.0f} ms, "
        f"p99 {summary['p99_ms']:.0f} ms, max {summary['max_ms']:.0f} ms"
    )
    print(
        f"  gunicorn used {cpu_used:.1f} CPU s: {1000 * cpu_used / summary['requests']:.1f} ms "
        f"a request, {cpu_used / seconds:.2f} of a core on average"
    )
    for kind, row in server_side(access_log).items():
        print(
            f"  server side {kind:>6}: {row['count']:>6} requests, p50 {row['p50']:.0f} ms, "
            f"p95 {row['p95']:.0f} ms"
        )


def _get(url: str, cookie: str) -> None:
    request = urllib.request.Request(url, headers={"Cookie": cookie})  # noqa: S310
    urllib.request.urlopen(request, timeout=60).read()  # noqa: S310


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--researchers", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument(
        "--think-ms", default="500:2500", help="MIN:MAX, or 0 for none; several: comma separated"
    )
    parser.add_argument("--interviews", type=int, default=24)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument(
        "--layouts",
        default="default",
        help="gunicorn WORKERSxTHREADS, comma separated; default: gunicorn.conf.py's",
    )
    parser.add_argument("--mix", default="page:6,search:3,api:1")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (Debian: apt-get install wrk).")
    mix = {k: int(v) for k, v in (item.split(":") for item in args.mix.split(","))}

    scratch = ScratchArchive("tiny.en")
    started = time.monotonic()
    try:
        seeded = seed(scratch.app(), args.interviews, args.minutes, args.researchers, args.seed)
        print(
            f"seeded {len(seeded['interviews'])} interviews, {seeded['segments']:,} segments, "
            f"{len(seeded['emails'])} researchers in {time.monotonic() - started:.0f} s"
        )
        for layout in args.layouts.split(","):
            for think in args.think_ms.split(","):
                run_load(scratch, seeded, args, layout, think, mix)
    finally:
        scratch.cleanup()


if __name__ == "__main__":
    main()
