"""segments the engine doubts: kept as produced, hidden from readers until checked

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 09:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('segments') as batch_op:
        batch_op.add_column(sa.Column('suspect', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('segments') as batch_op:
        batch_op.drop_column('suspect')
