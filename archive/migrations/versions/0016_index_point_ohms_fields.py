"""index_points.extra: the OHMS fields of an index point (subjects, GPS, hyperlinks)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 13:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('index_points') as batch_op:
        batch_op.add_column(sa.Column('extra', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('index_points') as batch_op:
        batch_op.drop_column('extra')
