"""languages: an interview's list, each segment's, and the confidence of a guess

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 12:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('interviews') as batch_op:
        batch_op.add_column(sa.Column('languages', sa.String(length=120), nullable=True))
    with op.batch_alter_table('recordings') as batch_op:
        batch_op.add_column(sa.Column('language_probability', sa.Float(), nullable=True))
    with op.batch_alter_table('segments') as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=16), nullable=True))
    # The single language an interview had is its list of one.
    op.execute(
        "UPDATE interviews SET languages = language "
        "WHERE language IS NOT NULL AND language <> ''"
    )
    # Segments already transcribed were decoded in their recording's language.
    op.execute(
        "UPDATE segments SET language = (SELECT recordings.language FROM recordings "
        "WHERE recordings.id = segments.recording_id)"
    )


def downgrade():
    # ALTER TABLE ... DROP COLUMN (SQLite 3.35+): recreating these tables would
    # break the foreign keys that point at them once they hold rows.
    with op.batch_alter_table('segments', recreate='never') as batch_op:
        batch_op.drop_column('language')
    with op.batch_alter_table('recordings', recreate='never') as batch_op:
        batch_op.drop_column('language_probability')
    with op.batch_alter_table('interviews', recreate='never') as batch_op:
        batch_op.drop_column('languages')
