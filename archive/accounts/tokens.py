"""API tokens: shown once at creation, stored only as a SHA-256 hash.

Issuing and revoking flush; the request (or the command) commits. A token's use is
recorded and committed when it signs a request in, whatever that request answers.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from archive import audit, policy, unit_of_work
from archive.extensions import db
from archive.lookup import get_or_404
from archive.models import ApiToken, User, utcnow

TOKEN_PREFIX = "arc_"  # noqa: S105 (a marker, not a secret)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(actor: User | None, user: User, label: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; the plaintext is returned once and never kept.
    ``actor`` None: the operator's command line (``flask users token``)."""
    if actor is not None:
        policy.require_own_account(actor, user, "manage_own_tokens")
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        label=label.strip()[:120],
        token_hash=_hash(plaintext),
        prefix=plaintext[: len(TOKEN_PREFIX) + 4],
    )
    db.session.add(token)
    db.session.flush()
    audit.record(
        db.session,
        "token_created",
        actor,
        object_type="api_token",
        object_id=token.id,
        user_id=user.id,
    )
    return token, plaintext


def list_tokens(user: User) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc())
    return list(db.session.scalars(query))


def revoke_token(actor: User, user: User, token_id: int) -> None:
    """Revoke one of ``user``'s own tokens; another person's token id is a 404."""
    policy.require_own_account(actor, user, "manage_own_tokens")
    token = get_or_404(ApiToken, token_id, lambda t: t.user_id == user.id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            db.session, "token_revoked", actor, object_type="api_token", object_id=token.id
        )


def user_for_token(plaintext: str) -> User | None:
    """The active user a valid, unrevoked token belongs to, or None."""
    if not plaintext.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(plaintext)))
    if token is None or token.revoked_at is not None or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        token.last_used_at = now
        # Committed here, before the view runs: the use is on record even when the
        # request it signed in is refused (a 404 rolls the request back).
        unit_of_work.commit()
    return token.user
