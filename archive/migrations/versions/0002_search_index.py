"""full-text search index

The index is made by hand, one way per database, and autogenerate skips it
(``include_name`` in env.py): on SQLite an FTS5 virtual table, on PostgreSQL a
table with a tsvector column under a GIN index. The layouts are documented in
``archive/search/sqlite.py`` and ``archive/search/postgres.py``; the statements
are copied here, as a migration must not change when the application does.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DDL = {
    "sqlite": (
        "CREATE VIRTUAL TABLE IF NOT EXISTS search_index USING fts5("
        "body, who, text UNINDEXED, speaker UNINDEXED, speaker_role UNINDEXED, "
        "segment_id UNINDEXED, recording_id UNINDEXED, start UNINDEXED, "
        "tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3')",
    ),
    "postgresql": (
        "CREATE TABLE IF NOT EXISTS search_index ("
        "id bigint PRIMARY KEY, vector tsvector NOT NULL, text text NOT NULL, "
        "speaker text, speaker_role text, segment_id integer, recording_id integer, "
        "start double precision)",
        "CREATE INDEX IF NOT EXISTS search_index_vector ON search_index USING gin (vector)",
    ),
}


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect not in DDL:
        raise NotImplementedError(f"no full-text search index for {dialect}")
    for statement in DDL[dialect]:
        op.execute(statement)


def downgrade():
    op.execute("DROP TABLE IF EXISTS search_index")
