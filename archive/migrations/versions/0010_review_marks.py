"""review marks: segments the engine doubts (kept as produced, hidden from readers
until checked), and how many voices a recording was heard to have

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
    with op.batch_alter_table('recordings') as batch_op:
        batch_op.add_column(sa.Column('voices_heard', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('recordings') as batch_op:
        batch_op.drop_column('voices_heard')
    with op.batch_alter_table('segments') as batch_op:
        batch_op.drop_column('suspect')
