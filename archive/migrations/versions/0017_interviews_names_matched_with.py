"""interviews.names_matched_with: the name matcher version its index was made with

Existing interviews get NULL (not known): the worker's catch-up reindexes them
once with the current matcher.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 19:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('interviews') as batch_op:
        batch_op.add_column(sa.Column('names_matched_with', sa.Integer(), nullable=True))


def downgrade():
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): recreating the table would break
    # the foreign keys that point at it once it holds rows.
    with op.batch_alter_table('interviews', recreate='never') as batch_op:
        batch_op.drop_column('names_matched_with')
