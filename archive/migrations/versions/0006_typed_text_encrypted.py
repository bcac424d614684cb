"""typed free text encrypted at rest (titles, summaries, places, vocabulary, notes,
audit details)

People type names into these fields; like real names and transcript text they are
kept as Fernet ciphertext under the identity key (``models.types``), and shown only
through the redactor. The rows are encrypted here, in the migration, with the
configured key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# (table, column, its plain type before, whether it is nullable)
FIELDS = [
    ('interviews', 'title', sa.String(length=300)),
    ('interviews', 'summary', sa.Text()),
    ('interviews', 'place', sa.String(length=300)),
    ('interviews', 'vocabulary', sa.Text()),
    ('collections', 'title', sa.String(length=300)),
    ('collections', 'description', sa.Text()),
    ('access_requests', 'purpose', sa.Text()),
    ('access_requests', 'message', sa.Text()),
    ('agreements', 'notes', sa.Text()),
    ('redactions', 'reason', sa.Text()),
    ('redactions', 'replacement', sa.String(length=120)),
    ('audit_events', 'details', sa.Text()),
]


def _convert(table, column, new_type, old_type, change):
    """A new column of ``new_type`` filled row by row with ``change(old value)``,
    then put in the old one's place. On SQLite with ALTER TABLE itself (3.35+): a
    batch's copy of the table would be refused by the foreign keys pointing at it."""
    bind = op.get_bind()
    temporary = f'{column}_converted'
    sqlite = bind.dialect.name == 'sqlite'
    if sqlite:
        declared = 'BLOB' if isinstance(new_type, sa.LargeBinary) else 'TEXT'
        empty = "x''" if declared == 'BLOB' else "''"
        op.execute(
            f'ALTER TABLE {table} ADD COLUMN {temporary} {declared} NOT NULL DEFAULT {empty}'
        )
    else:
        op.add_column(table, sa.Column(temporary, new_type, nullable=True))
    rows = bind.execute(sa.text(f'SELECT id, {column} FROM {table}')).all()
    for row_id, value in rows:
        bind.execute(
            sa.text(f'UPDATE {table} SET {temporary} = :value WHERE id = :id'),
            {'value': change(value), 'id': row_id},
        )
    if sqlite:
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
        op.execute(f'ALTER TABLE {table} RENAME COLUMN {temporary} TO {column}')
    else:
        op.drop_column(table, column)
        op.alter_column(table, temporary, new_column_name=column, nullable=False)


def upgrade():
    from archive.models.types import encrypt_bytes

    for table, column, old_type in FIELDS:
        _convert(
            table,
            column,
            sa.LargeBinary(),
            old_type,
            lambda value: encrypt_bytes((value or '').encode()),
        )


def downgrade():
    from archive.models.types import decrypt_bytes

    for table, column, old_type in FIELDS:
        _convert(
            table,
            column,
            old_type,
            sa.LargeBinary(),
            lambda value: decrypt_bytes(bytes(value)).decode() if value is not None else '',
        )
