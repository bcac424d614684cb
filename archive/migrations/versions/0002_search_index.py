"""full-text search index

The index is a virtual table (SQLite FTS5) that autogenerate cannot see; its
layout is documented in ``archive/search.py``.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE_DDL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5("
    "body, who, text UNINDEXED, speaker UNINDEXED, speaker_role UNINDEXED, "
    "segment_id UNINDEXED, recording_id UNINDEXED, start UNINDEXED, "
    "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')"
)


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_DDL)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_index")
