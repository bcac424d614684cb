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
    from tests.helpers import archive_config

    url = databases.new(None, tmp_path)
    try:
        app = create_app(archive_config(tmp_path, url))
        with app.app_context():
            upgrade(revision="0006")  # before 0007 made the numbers unique
            # Rows are written with the columns this schema version has (the models
            # may have more by now).
            interview_id = db.session.execute(
                insert(Interview.__table__).values(title="Before 0007")
            ).inserted_primary_key[0]
            parts = [
                db.session.execute(
                    insert(Recording.__table__).values(
                        interview_id=interview_id,
                        position=1,
                        master_key=f"m{n}",
                        sha256="0" * 64,
                        size_bytes=1,
                    )
                ).inserted_primary_key[0]
                for n in range(3)
            ]
            voices = [Speaker(interview_id=interview_id, position=1, label="S1") for _ in range(2)]
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


def test_languages_migration_keeps_the_single_language_as_a_list_of_one(databases, tmp_path):
    """0015: an interview's one language becomes its list; segments already
    transcribed take their recording's language; a downgrade drops the columns."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import insert, text

    from archive import create_app
    from archive.models import Interview, Recording, Segment
    from tests.helpers import archive_config

    url = databases.new(None, tmp_path)
    try:
        app = create_app(archive_config(tmp_path, url))
        with app.app_context():
            upgrade(revision="0014")
            ids = []
            for language in ("ru", None):
                ids.append(
                    db.session.execute(
                        insert(Interview.__table__).values(title="Before", language=language)
                    ).inserted_primary_key[0]
                )
            recording = db.session.execute(
                insert(Recording.__table__).values(
                    interview_id=ids[0],
                    master_key="m",
                    sha256="0" * 64,
                    size_bytes=1,
                    language="kk",
                )
            ).inserted_primary_key[0]
            segment = db.session.execute(
                insert(Segment.__table__).values(recording_id=recording, start=0, end=1, text="x")
            ).inserted_primary_key[0]
            db.session.commit()
            upgrade()
            assert db.session.get(Interview, ids[0]).language_codes == ["ru"]
            assert db.session.get(Interview, ids[0]).languages == "ru"
            assert db.session.get(Interview, ids[1]).language_codes == []
            assert db.session.get(Segment, segment).language == "kk"
            db.session.remove()
            downgrade(revision="0014")
            columns = (
                [
                    row[1]
                    for row in db.session.execute(
                        text("SELECT * FROM pragma_table_info('segments')")
                    )
                ]
                if db.engine.dialect.name == "sqlite"
                else None
            )
            if columns is not None:
                assert "language" not in columns
            db.session.remove()
            db.engine.dispose()
    finally:
        databases.drop(url)
