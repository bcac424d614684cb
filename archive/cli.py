"""``flask --app wsgi ...`` commands for operators."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from archive import accounts, audit, jobs, queue, recordings, samples, unit_of_work
from archive.accounts import tokens
from archive.errors import ArchiveError
from archive.extensions import db
from archive.lookup import get_or_404
from archive.models import ROLES, Interview
from archive.operations import backup as backups
from archive.recordings import storage
from archive.search import catch_up
from archive.transcription import model_store, pipeline, translation_track
from archive.transcription.models import ModelError
from archive.transcripts.names import matching as name_matching
from archive.transcripts.names import words as common_words

users_cli = AppGroup("users", help="Manage accounts.")
audit_cli = AppGroup("audit", help="Inspect the audit log.")
models_cli = AppGroup("models", help="Whisper models: list, download (online), import (offline).")
search_cli = AppGroup("search", help="The search index.")


def _fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="", help="Display name.")
@click.option("--password", help="Prompted for when not given.")
def create_user(email: str, role: str, name: str, password: str | None) -> None:
    """Create a user with ROLE."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(None, email, role, password, name)
        unit_of_work.commit()
    except ArchiveError as exc:
        _fail(exc.message)
    click.echo(f"Created {user.email} ({user.role}).")


@users_cli.command("token")
@click.argument("email")
@click.option("--label", default="command line", help="What the token is for.")
def create_token(email: str, label: str) -> None:
    """Print a new API token for EMAIL (only its hash is stored)."""
    user = accounts.find_user(email)
    if user is None or not user.active:
        _fail("No active account with that email address.")
    _token, plaintext = tokens.issue_token(None, user, label)
    unit_of_work.commit()
    click.echo(plaintext)


@users_cli.command("ensure-admin")
def ensure_admin() -> None:
    """Create the first admin when there is none (ARCHIVE_ADMIN_EMAIL, ARCHIVE_ADMIN_PASSWORD)."""
    try:
        created = accounts.ensure_first_admin(
            os.environ.get("ARCHIVE_ADMIN_EMAIL"), os.environ.get("ARCHIVE_ADMIN_PASSWORD")
        )
        unit_of_work.commit()
    except ArchiveError as exc:
        _fail(exc.message)
    if created is None:
        return
    user, generated = created
    click.echo(f"First admin created: {user.email}")
    if generated:
        click.echo(f"Its password, shown only this once: {generated}")


@audit_cli.command("verify")
def verify() -> None:
    """Check the audit log's hash chain; exit 1 when it is broken."""
    problems = audit.verify(db.session)
    if problems:
        for problem in problems:
            click.echo(f"event {problem.seq}: {problem.problem}", err=True)
        click.echo(f"The audit log is BROKEN: {len(problems)} problem(s).", err=True)
        sys.exit(1)
    count = audit.event_count(db.session)
    click.echo(f"The audit log is intact: {count} events, chain verified.")


@search_cli.command("reindex")
@click.option(
    "--stale-only",
    is_flag=True,
    help="Only the interviews indexed by an older name matcher (what the workers catch up).",
)
def search_reindex(stale_only: bool) -> None:
    """Reindex every interview (not withdrawn) with the current name matcher, one
    transaction each; listening copies whose hidden names moved are queued again."""

    def say(step: catch_up.Step) -> None:
        if step.failed:
            what = "FAILED (see the log; run the command again)"
        elif not step.reindexed:
            what = "up to date or withdrawn meanwhile, skipped"
        elif step.moved:
            what = "names moved, listening copies queued"
        else:
            what = "reindexed"
        click.echo(f"[{step.done}/{step.total}] interview {step.interview_id}: {what}")

    result = catch_up.catch_up(stale_only=stale_only, progress=say)
    click.echo(
        f"{result.reindexed} interview(s) reindexed with name matcher version "
        f"{name_matching.MATCHER_VERSION}; {result.moved} with names moved (a running worker "
        "makes their listening copies)."
    )
    if result.failed:
        _fail(f"{result.failed} interview(s) could not be reindexed; run the command again.")


@click.command("worker")
@click.option("--threads", type=int, help="CPU threads for the model (default: all cores).")
def worker(threads: int | None) -> None:
    """Run a transcription worker (as many as wanted, sharing database and storage)."""
    app = current_app._get_current_object()
    if threads:
        app.config["WORKER_THREADS"] = threads
    jobs.bind(app)
    common_words.load()  # every job's redaction asks it; the first job need not wait
    requeued = pipeline.recover_abandoned(queue.worker_id(), at_start=True)
    queue.enqueue_name_catch_up()  # an upgraded name matcher reaches the index and the audio
    storage_name = "Redis" if app.config.get("REDIS_URL") else "SQLite"
    worker_id = queue.worker_id()
    click.echo(
        f"Worker {worker_id} started on the {storage_name} queue; {requeued} job(s) waiting."
    )
    consumer = queue.huey.create_consumer(workers=1, worker_type="thread", periodic=True)
    consumer.run()


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--interview", "interview_id", type=int, required=True)
def import_recordings(paths: tuple[str, ...], interview_id: int) -> None:
    """Add recordings from disk to an interview, as an upload would (in the order given)."""
    try:
        interview = get_or_404(Interview, interview_id)
    except ArchiveError:
        _fail(f"There is no interview {interview_id}.")
    failed = 0
    for path in paths:
        with storage.copy_to_incoming(Path(path)) as temp:
            try:
                recording = recordings.add_recording(None, interview, temp, Path(path).name)
                unit_of_work.commit()  # each file its own unit: one refusal keeps the others
            except ArchiveError as exc:
                db.session.rollback()
                failed += 1
                click.echo(f"{path}: refused: {exc.message}", err=True)
                continue
        click.echo(f"{path}: recording {recording.id}, sha256 {recording.sha256}, queued")
    if failed:
        sys.exit(1)


@click.command("fixity")
def fixity() -> None:
    """Re-hash every master; list mismatches and missing files; exit 1 if any."""
    checked, problems = recordings.check_fixity()
    unit_of_work.commit()
    for problem in problems:
        click.echo(f"recording {problem.recording_id}: {problem.problem} ({problem.key})", err=True)
    if problems:
        click.echo(f"{len(problems)} of {checked} master(s) failed the fixity check.", err=True)
        sys.exit(1)
    click.echo(f"All {checked} master(s) match their SHA-256.")


@click.command("translate")
@click.option("--retry-failed", is_flag=True, help="Queue failed translations again too.")
def translate(retry_failed: bool) -> None:
    """Queue the machine English translation of every recording not in English that
    lacks one (or has a stale one); a running worker makes them."""
    queued = translation_track.queue_all(retry_failed)
    click.echo(f"{len(queued)} recording(s) queued for translation.")


@click.command("backup")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
def backup(target: Path) -> None:
    """Write a consistent backup into TARGET (a new or empty folder), while the archive runs.

    The database, the masters and other stored files, the machine transcripts and a
    SHA-256 manifest. The identity key is NOT included: keep it apart from backups.
    """
    try:
        report = backups.make_backup(target)
    except ArchiveError as exc:
        _fail(exc.message)
    counts = report.counts
    click.echo(
        f"Backup written to {report.target}: {report.database} database "
        f"({counts.get('interviews', 0)} interviews, {counts.get('recordings', 0)} recordings), "
        f"{report.files} files, {report.bytes / 1e6:,.1f} MB."
    )
    click.echo("The identity key is not in it: keep ARCHIVE_IDENTITY_KEY apart from backups.")
    if counts.get("jobs_waiting"):
        click.echo(
            f"{counts['jobs_waiting']} transcription job(s) were waiting or running; after a "
            "restore the next worker takes them up."
        )
    if report.problems:
        for problem in report.problems:
            click.echo(f"problem: {problem}", err=True)
        click.echo(
            f"The backup was written, but {len(report.problems)} stored file(s) are missing or "
            "damaged in the archive itself (see `flask fixity`).",
            err=True,
        )
        sys.exit(1)


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(source: Path) -> None:
    """Restore the backup in SOURCE into this archive, which must be empty.

    Every file is checked against the backup's manifest first; nothing is written
    when one does not match, when the archive is not empty, or when the configured
    identity key is not the one the backup was made under.
    """
    try:
        report = backups.restore_backup(source)
    except ArchiveError as exc:
        _fail(exc.message)
    click.echo(
        f"Restored {report.database} database (schema {report.revision}, "
        f"{report.counts.get('interviews', 0)} interviews) and {report.files} files "
        f"({report.bytes / 1e6:,.1f} MB). Check it with `flask --app wsgi fixity` and "
        "`flask --app wsgi audit verify`; start the workers to take up waiting jobs."
    )
    if report.copies_queued:
        click.echo(
            f"{report.copies_queued} recording(s) lacked a listening copy (replaced while the "
            "backup ran); the workers will make them again."
        )


@click.command("demo")
def demo() -> None:
    """Load the sample interview into an empty archive (as the first admin); the
    running worker transcribes it."""
    admin = accounts.first_admin()
    if admin is None:
        _fail("There is no active admin: run `flask --app wsgi users ensure-admin` first.")
    try:
        interview = samples.load_sample_interview(admin)
    except ArchiveError as exc:
        _fail(exc.message)
    unit_of_work.commit()  # the command is the unit of work
    click.echo(
        f"Sample interview {interview.id} loaded and queued for transcription; open "
        f"/interviews/{interview.id} (a worker must be running: `make run` starts one)."
    )


def _model_cache() -> Path:
    return Path(current_app.config["MODEL_CACHE_DIR"])


def _show_model(model) -> None:
    size = f"{model.size / 1e6:,.0f} MB" if model.size else "-"
    click.echo(f"{model.name:<16} {size:>9}  {model.languages:<13} {model.verified}")
    click.echo(f"{'':<16} {model.source}; in {model.path}")
    for problem in model.problems:
        click.echo(f"{'':<16} problem: {problem}", err=True)


@models_cli.command("list")
@click.option("--verify", is_flag=True, help="Re-hash every file against its manifest (slow).")
def models_list(verify: bool) -> None:
    """Installed Whisper models: name, size, languages, checks, source and folder."""
    found = model_store.list_models(_model_cache(), rehash=verify)
    configured = current_app.config["WHISPER_MODEL"]
    click.echo(f"{'name':<16} {'size':>9}  {'languages':<13} verified")
    for model in found:
        _show_model(model)
    missing = [n for n in model_store.CATALOGUE if n not in {m.name for m in found}]
    if missing:
        click.echo(
            f"Not installed: {', '.join(missing)} (`flask --app wsgi models download NAME`, "
            "or `models import` on a machine without internet)."
        )
    click.echo(f"ARCHIVE_WHISPER_MODEL is {configured!r}.")
    if any(not m.ok for m in found):
        sys.exit(1)


@models_cli.command("download")
@click.argument("name")
@click.option("--replace", is_flag=True, help="Download again over an installed copy.")
def models_download(name: str, replace: bool) -> None:
    """Download NAME (small, medium, large-v3, large-v3-turbo) from the Hugging Face Hub.

    The only command that goes online. Files are checked by SHA-256 and installed in
    one rename, so an interrupted download leaves nothing usable behind.
    """
    item = model_store.CATALOGUE.get(name)
    if item is not None:
        click.echo(
            f"Going online: downloading {name} (about {item.approx_mb:,} MB) from "
            f"{model_store.hub_endpoint()}/{item.repo} at revision {item.revision} into "
            f"{_model_cache() / 'models' / name}. No other archive command uses the network."
        )
    try:
        model = model_store.download_model(name, _model_cache(), replace=replace, say=click.echo)
    except ModelError as exc:
        _fail(str(exc))
    except OSError as exc:  # disk full, permissions: the staging folder is already gone
        _fail(f"{exc}. Nothing was installed.")
    click.echo(
        f"Installed {model.name} ({model.size / 1e6:,.0f} MB, {model.languages}) in "
        f"{model.path}; {model.verified}."
    )
    click.echo(f"Use it with ARCHIVE_WHISPER_MODEL={model.name} (workers load it at start).")


@models_cli.command("import")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--name", help="Name to install it under (default: its manifest's, or the file's).")
@click.option("--replace", is_flag=True, help="Replace an installed model of that name.")
def models_import(source: Path, name: str | None, replace: bool) -> None:
    """Install a model from a folder or a .tar/.tar.gz, for machines without internet."""
    try:
        model = model_store.import_model(source, _model_cache(), name=name, replace=replace)
    except ModelError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc}. Nothing was installed.")
    click.echo(
        f"Installed {model.name} ({model.size / 1e6:,.0f} MB, {model.languages}) in "
        f"{model.path}; {model.verified}."
    )
    click.echo(f"Use it with ARCHIVE_WHISPER_MODEL={model.name} (workers load it at start).")


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(models_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(worker)
    app.cli.add_command(import_recordings)
    app.cli.add_command(fixity)
    app.cli.add_command(translate)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(demo)
