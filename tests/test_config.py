"""Configuration from the environment, and secrets generated once with 0600."""

from __future__ import annotations

import stat

from archive.config import load_config


def test_secrets_are_generated_once_with_owner_only_permissions(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHIVE_SECRET_KEY", raising=False)
    monkeypatch.delenv("ARCHIVE_IDENTITY_KEY", raising=False)
    first = load_config(tmp_path)
    second = load_config(tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["IDENTITY_KEY"] == second["IDENTITY_KEY"]
    for name in ("secret_key", "identity_key"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == 0o600


def test_environment_overrides_the_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", "postgresql+psycopg://db/archive")
    monkeypatch.setenv("ARCHIVE_SECRET_KEY", "from-env")
    monkeypatch.setenv("ARCHIVE_MAX_UPLOAD_MB", "12")
    monkeypatch.setenv("ARCHIVE_WHISPER_MODEL", "tiny.en")
    config = load_config(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://db/archive"
    assert config["SECRET_KEY"] == "from-env"
    assert config["MAX_UPLOAD_MB"] == 12
    assert config["WHISPER_MODEL"] == "tiny.en"
    assert not (tmp_path / "secret_key").exists()


def test_embedded_default_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("ARCHIVE_DATABASE_URL", raising=False)
    config = load_config(tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    assert config["REDIS_URL"] is None


def _modes(root) -> dict:
    import os

    found = {}
    for folder, _dirs, files in os.walk(root):
        found[folder] = stat.S_IMODE(os.stat(folder).st_mode)
        for name in files:
            found[f"{folder}/{name}"] = stat.S_IMODE(os.stat(f"{folder}/{name}").st_mode)
    return found


def test_instance_files_are_the_service_users_alone(tmp_path, monkeypatch):
    """The SQLite database, its WAL and SHM, the queue and the secrets: 0600 in a
    0700 folder, even when an earlier version left them 0644."""
    import os

    from flask_migrate import upgrade

    from archive import create_app, unit_of_work
    from archive.extensions import db

    for name in ("SECRET_KEY", "IDENTITY_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(f"ARCHIVE_{name}", raising=False)
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    old = instance / "left-by-an-old-version"
    old.write_text("x")
    os.chmod(old, 0o644)
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(instance))
    monkeypatch.setenv("ARCHIVE_RECORDINGS_DIR", str(tmp_path / "recordings"))
    monkeypatch.setenv("ARCHIVE_TRANSCRIPTS_DIR", str(tmp_path / "transcripts"))
    previous = os.umask(0o022)
    try:
        app = create_app({"TESTING": True})
        with app.app_context():
            upgrade()
            from archive import accounts

            accounts.create_user(None, "a@example.org", "admin", "long enough pw")
            unit_of_work.commit()
            wal = instance / "archive.sqlite3-wal"
            assert wal.exists()
            modes = _modes(instance)
            db.session.remove()
            db.engine.dispose()
    finally:
        os.umask(previous)
    assert str(instance / "archive.sqlite3") in modes
    assert str(wal) in modes
    assert str(instance / "secret_key") in modes
    wrong = {
        path: oct(mode)
        for path, mode in modes.items()
        if mode != (0o700 if os.path.isdir(path) else 0o600)
    }
    assert wrong == {}
