"""sent notifications: each e-mail recorded once, so two workers never send it twice

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:00:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sent_notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('subject_key', sa.String(length=60), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ['recipient_id'], ['users.id'],
            name=op.f('fk_sent_notifications_recipient_id_users'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_notifications')),
        sa.UniqueConstraint(
            'kind', 'subject_key', 'recipient_id',
            name=op.f('uq_sent_notifications_kind'),
        ),
    )
    with op.batch_alter_table('sent_notifications') as batch_op:
        batch_op.create_index(
            batch_op.f('ix_sent_notifications_recipient_id'), ['recipient_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('sent_notifications') as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_notifications_recipient_id'))
    op.drop_table('sent_notifications')
