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


def test_unique_numbers_migration_renumbers_duplicates_and_keeps_every_row(databases, tmp_path):
    """Duplicates made by the races before 0007 are renumbered in the order they were
    made, so the constraints can hold and no revision, part or speaker is lost."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from archive import create_app
    from archive.models import Interview, Recording, Revision, Segment, Speaker
    from tests.conftest import _config

    url = databases.new(None, tmp_path)
    try:
        app = create_app(_config(tmp_path, url))
        with app.app_context():
            upgrade(revision="0006")  # before 0007 made the numbers unique
            interview = Interview(title="Before 0007")
            db.session.add(interview)
            db.session.flush()
            # Rows are written with the columns this schema version has (the models
            # may have more by now).
            parts = [
                db.session.execute(
                    insert(Recording.__table__).values(
                        interview_id=interview.id,
                        position=1,
                        master_key=f"m{n}",
                        sha256="0" * 64,
                        size_bytes=1,
                    )
                ).inserted_primary_key[0]
                for n in range(3)
            ]
            voices = [Speaker(interview_id=interview.id, position=1, label="S1") for _ in range(2)]
            db.session.add_all(voices)
            db.session.flush()
            segment_id = db.session.execute(
                insert(Segment.__table__).values(
                    recording_id=parts[0], start=0, end=1, text="c", version=3
                )
            ).inserted_primary_key[0]
            for version, text in ((1, "a"), (2, "b"), (2, "b2"), (3, "c")):
                db.session.add(
                    Revision(segment_id=segment_id, version=version, text=text, start=0, end=1)
                )
            db.session.commit()
            upgrade()
            db.session.expire_all()
            assert [
                r.position for r in db.session.scalars(select(Recording).order_by(Recording.id))
            ] == [1, 2, 3]
            assert [s.label for s in db.session.scalars(select(Speaker).order_by(Speaker.id))] == [
                "S1",
                "S2",
            ]
            history = db.session.scalars(select(Revision).order_by(Revision.version)).all()
            assert [(r.version, r.text) for r in history] == [
                (1, "a"),
                (2, "b"),
                (3, "b2"),
                (4, "c"),
            ]
            assert db.session.get(Segment, segment_id).version == 4
            db.session.remove()
            db.engine.dispose()
    finally:
        databases.drop(url)
