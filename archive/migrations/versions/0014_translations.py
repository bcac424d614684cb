"""translations: a machine English translation per segment, its status per recording

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:40:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'segment_translations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('segment_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.LargeBinary(), nullable=False),
        sa.Column('source_version', sa.Integer(), nullable=False),
        sa.Column('suspect', sa.String(length=20), nullable=True),
        sa.Column('model', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_segment_translations_segment_id_segments')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_translations')),
    )
    op.create_index('uq_segment_translations_segment', 'segment_translations', ['segment_id'], unique=True)
    with op.batch_alter_table('recordings') as batch_op:
        batch_op.add_column(sa.Column('translation_status', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('translation_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('translation_worker', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('translation_heartbeat_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('recordings') as batch_op:
        batch_op.drop_column('translation_heartbeat_at')
        batch_op.drop_column('translation_worker')
        batch_op.drop_column('translation_error')
        batch_op.drop_column('translation_status')
    op.drop_index('uq_segment_translations_segment', table_name='segment_translations')
    op.drop_table('segment_translations')
