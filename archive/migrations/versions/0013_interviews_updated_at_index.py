"""interviews.updated_at indexed: OAI-PMH harvests select by the time of last change

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 12:45:00
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('interviews') as batch_op:
        batch_op.create_index('ix_interviews_updated_at', ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('interviews') as batch_op:
        batch_op.drop_index('ix_interviews_updated_at')
