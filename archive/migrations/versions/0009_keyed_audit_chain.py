"""the audit chain keyed: each hash becomes an HMAC under ARCHIVE_AUDIT_KEY

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:40:00

The existing chain is checked as it was written (plain SHA-256) and refused if it
does not verify; then every event is signed again, in order, under the audit key of
the configuration running the upgrade. The rules of the digest are copied here, as
they stood, so that later changes to ``archive.audit`` cannot change this step.
"""
import hashlib
import hmac
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

GENESIS_HASH = "0" * 64

events = sa.table(
    'audit_events',
    sa.column('id', sa.Integer),
    sa.column('seq', sa.Integer),
    sa.column('created_at', sa.DateTime),
    sa.column('actor_id', sa.Integer),
    sa.column('actor_email', sa.String),
    sa.column('action', sa.String),
    sa.column('interview_id', sa.Integer),
    sa.column('object_type', sa.String),
    sa.column('object_id', sa.Integer),
    sa.column('details', sa.LargeBinary),  # encrypted since 0006
    sa.column('prev_hash', sa.String),
    sa.column('hash', sa.String),
)
head = sa.table('audit_head', sa.column('id', sa.Integer), sa.column('hash', sa.String))


def _plain(details):
    """The details as the chain hashes them: decrypted (0006 encrypted them at rest)."""
    from archive.models.types import decrypt_bytes

    return decrypt_bytes(bytes(details)).decode() if details is not None else None


def _canonical(row, prev_hash):
    payload = {
        "seq": row.seq,
        "created_at": row.created_at.isoformat(timespec="microseconds"),
        "actor_id": row.actor_id,
        "actor_email": row.actor_email,
        "action": row.action,
        "interview_id": row.interview_id,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "details": _plain(row.details),
        "prev_hash": prev_hash,
    }
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def upgrade():
    connection = op.get_bind()
    rows = connection.execute(sa.select(events).order_by(events.c.seq)).all()
    if not rows:
        return
    from flask import current_app

    key = current_app.config["AUDIT_KEY"].encode()
    previous = GENESIS_HASH
    for row in rows:
        if row.prev_hash != previous or hashlib.sha256(_canonical(row, previous)).hexdigest() != row.hash:
            raise RuntimeError(
                f"The audit chain does not verify at event {row.seq}; it is not re-keyed. "
                "Run `flask audit verify` on the previous version and keep the report."
            )
        previous = row.hash
    previous = GENESIS_HASH
    for row in rows:
        signed = hmac.new(key, _canonical(row, previous), hashlib.sha256).hexdigest()
        connection.execute(
            events.update().where(events.c.id == row.id).values(prev_hash=previous, hash=signed)
        )
        previous = signed
    connection.execute(head.update().where(head.c.id == 1).values(hash=previous))


def downgrade():
    """The keyed hashes stay: an unkeyed chain cannot be made without weakening it."""
