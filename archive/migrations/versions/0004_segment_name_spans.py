"""where names were found in each segment, kept with a keyed digest

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 13:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_spans', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('name_key', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('segments', schema=None) as batch_op:
        batch_op.drop_column('name_key')
        batch_op.drop_column('name_spans')
