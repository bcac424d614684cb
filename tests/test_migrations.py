"""The schema is built by the migrations, and they match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from archive.extensions import db
from archive.models import Base


def test_migrations_head_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "render_as_batch": True,
                "include_name": lambda name, type_, _parents: (
                    not (type_ == "table" and name.startswith("search_index"))
                ),
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_audit_chain_starts_at_genesis(app):
    from archive import audit

    assert audit.verify(db.session) == []
