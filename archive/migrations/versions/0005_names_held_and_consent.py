"""names held hidden through edits; per-speaker consent to be named

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_spans', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('speakers', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('named', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('named_speakers', sa.JSON(), nullable=True))
    # What was shown before stays shown: the narrators of interviews whose agreement
    # in force says "named" are the speakers it names.
    op.execute(
        "UPDATE speakers SET named = true WHERE role = 'narrator' AND merged_into_id IS NULL"
        " AND interview_id IN (SELECT id FROM interviews WHERE identity = 'named')"
    )


def downgrade():
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_column('named_speakers')
    with op.batch_alter_table('speakers', schema=None) as batch_op:
        batch_op.drop_column('named')
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_column('held_spans')
