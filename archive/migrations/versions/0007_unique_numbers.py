"""unique revision numbers, part positions and speaker labels

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:30:00

Before this, two requests at once could give two revisions the same version, two
parts the same position, or two speakers the same label. Any such duplicates are
renumbered first, in the order the rows were made (their ids), so no row is lost
and the constraints can hold.
"""
from collections import defaultdict

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _renumber(connection, table, parent, number):
    """Number the rows of each parent that has a duplicate 1..n by (number, id)."""
    rows = connection.execute(
        sa.text(f"SELECT id, {parent}, {number} FROM {table} ORDER BY {parent}, {number}, id")
    ).all()
    by_parent = defaultdict(list)
    for row_id, parent_id, value in rows:
        by_parent[parent_id].append((row_id, value))
    changed = {}
    for parent_id, items in by_parent.items():
        values = [value for _id, value in items]
        if len(set(values)) == len(values):
            continue
        for new, (row_id, _value) in enumerate(items, start=1):
            changed[row_id] = new
            # Park each row on minus its id first, so no intermediate state collides.
            connection.execute(
                sa.text(f"UPDATE {table} SET {number} = :n WHERE id = :id"),
                {"n": -row_id, "id": row_id},
            )
        for new, (row_id, _value) in enumerate(items, start=1):
            connection.execute(
                sa.text(f"UPDATE {table} SET {number} = :n WHERE id = :id"), {"n": new, "id": row_id}
            )
    return changed


def upgrade():
    connection = op.get_bind()
    _renumber(connection, 'recordings', 'interview_id', 'position')
    changed = _renumber(connection, 'speakers', 'interview_id', 'position')
    for speaker_id, position in changed.items():
        connection.execute(
            sa.text("UPDATE speakers SET label = :label WHERE id = :id AND label LIKE 'S%'"),
            {"label": f"S{position}", "id": speaker_id},
        )
    changed = _renumber(connection, 'revisions', 'segment_id', 'version')
    if changed:
        connection.execute(sa.text(
            "UPDATE segments SET version = (SELECT MAX(version) FROM revisions "
            "WHERE revisions.segment_id = segments.id) "
            "WHERE id IN (SELECT segment_id FROM revisions)"
        ))

    # Unique indexes: SQLite adds them in place (a constraint would rebuild each
    # table, which its foreign keys refuse once rows point at it).
    op.create_index('uq_recordings_interview_position', 'recordings', ['interview_id', 'position'], unique=True)
    op.create_index('uq_revisions_segment_version', 'revisions', ['segment_id', 'version'], unique=True)
    op.create_index('uq_speakers_interview_position', 'speakers', ['interview_id', 'position'], unique=True)
    op.create_index('uq_speakers_interview_label', 'speakers', ['interview_id', 'label'], unique=True)


def downgrade():
    op.drop_index('uq_speakers_interview_label', table_name='speakers')
    op.drop_index('uq_speakers_interview_position', table_name='speakers')
    op.drop_index('uq_revisions_segment_version', table_name='revisions')
    op.drop_index('uq_recordings_interview_position', table_name='recordings')
