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
