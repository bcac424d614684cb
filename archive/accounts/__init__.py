"""Accounts: creating people, signing them in, changing roles, deactivating.

Services flush and write the audit event in the same transaction as the change;
whoever started the work commits (``archive/unit_of_work.py``). One exception: a
failed sign-in commits itself, because its answer (401) rolls the request back.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select, update

from archive import audit, policy, unit_of_work
from archive.errors import N_, AuthenticationError, ConflictError, ValidationError
from archive.extensions import db
from archive.models import ROLES, ApiToken, User, UserSession, utcnow

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when the email is unknown, so a wrong email takes as long as a
# wrong password and the timing does not tell which accounts exist.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def normalise_email(email: str) -> str:
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValidationError(N_("That email address is not valid: %(exc)s"), exc=exc) from None


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            N_("The password must have at least %(min_password_length)s characters."),
            min_password_length=MIN_PASSWORD_LENGTH,
        )


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(
            N_("Unknown role %(role)r; choose one of %(choices)s."),
            role=role,
            choices=", ".join(ROLES),
        )
    return role


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def names_of(user_ids: set[int]) -> dict[int, str]:
    """How staff are named beside their work (revisions, status changes)."""
    if not user_ids:
        return {}
    return {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.role, User.email)))


def _new_user(email: str, role: str, password: str, display_name: str) -> User:
    email = normalise_email(email)
    check_role(role)
    check_password_strength(password)
    if find_user(email) is not None:
        raise ConflictError(N_("An account with that email address already exists."))
    user = User(
        email=email,
        role=role,
        display_name=display_name.strip(),
        password_hash=_hasher.hash(password),
    )
    db.session.add(user)
    db.session.flush()
    return user


def create_user(
    actor: User | None, email: str, role: str, password: str, display_name: str = ""
) -> User:
    """Create an account; ``actor`` is None when the command line does it."""
    if actor is not None:
        policy.require(actor, "manage_users")
    user = _new_user(email, role, password, display_name)
    audit.record(
        db.session, "user_created", actor, object_type="user", object_id=user.id, role=role
    )
    log.info("user %s created with role %s", user.id, role)
    return user


def register_researcher(email: str, password: str, display_name: str = "") -> User | None:
    """Self-registration: a researcher account that can see nothing until granted.

    An address that already has an account gets the same answer as a new one (the
    caller must not tell them apart), and that account is left exactly as it was:
    its owner keeps their password and sessions. Returns the new user, or None.
    """
    email = normalise_email(email)
    check_password_strength(password)
    existing = find_user(email)
    if existing is not None:
        _hasher.hash(password)  # the same work as a new account: timing tells nothing
        audit.record(
            db.session,
            "registration_for_existing_account",
            None,
            object_type="user",
            object_id=existing.id,
        )
        db.session.flush()
        return None
    user = _new_user(email, "researcher", password, display_name)
    audit.record(db.session, "user_registered", user, object_type="user", object_id=user.id)
    return user


def ensure_first_admin(email: str | None, password: str | None) -> tuple[User, str | None] | None:
    """Create the first admin when there is none.

    Returns the user and the generated password (to print once), or None when an
    admin exists already.
    """
    admins = User.role.in_(policy.roles_for("manage_users"))
    if db.session.scalar(select(func.count()).select_from(User).where(admins)):
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user = create_user(None, email or "admin@example.org", "admin", password, "Administrator")
    return user, generated


def first_admin() -> User | None:
    """The oldest active admin: who the command line acts as when it must act as someone."""
    admins = User.role.in_(policy.roles_for("manage_users"))
    query = select(User).where(admins, User.active.is_(True)).order_by(User.id)
    return db.session.scalars(query.limit(1)).first()


def authenticate(email: str, password: str) -> User:
    """Check credentials; every failure raises the same AuthenticationError."""
    user = find_user(email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user_ok = False
    else:
        user_ok = user is not None and user.active
    if not user_ok:
        audit.record(
            db.session,
            "sign_in_failed",
            None,
            object_type="user",
            object_id=user.id if user else None,
        )
        # Committed here, not by the request: the refusal answers 401, which rolls
        # the request back, and a failed attempt must stay on record (and count
        # against the account) whatever the view answers.
        unit_of_work.commit()
        raise AuthenticationError()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    audit.record(db.session, "sign_in", user, object_type="user", object_id=user.id)
    return user


# A sign-in lasts at most this long on the server, whatever the browser keeps.
SESSION_LIFETIME = timedelta(days=31)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start_session(user: User) -> str:
    """Record a new sign-in on the server; the user's ``get_id()`` then carries its
    key into the cookie. Returns the key."""
    key = secrets.token_urlsafe(32)
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.created_at < utcnow() - SESSION_LIFETIME
        )
    )
    db.session.add(UserSession(user_id=user.id, key_hash=_key_hash(key)))
    db.session.flush()
    user.session_key = key
    return key


def _end_sessions(user: User) -> None:
    """Every sign-in of ``user`` ends (inside the caller's transaction)."""
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def record_sign_out(user: User) -> None:
    """Sign-out ends this session on the server: its cookie, copied or not, is dead."""
    if user.session_key:
        db.session.execute(
            delete(UserSession).where(
                UserSession.user_id == user.id,
                UserSession.key_hash == _key_hash(user.session_key),
            )
        )
    audit.record(db.session, "sign_out", user, object_type="user", object_id=user.id)
    user.session_key = None


def change_role(actor: User, user: User, role: str) -> User:
    policy.require(actor, "manage_users")
    check_role(role)
    if user.role == role:
        return user
    _keep_one_admin(user)
    previous, user.role = user.role, role
    user.session_version += 1  # pages cached for the old role must not linger
    _end_sessions(user)
    audit.record(
        db.session,
        "role_changed",
        actor,
        object_type="user",
        object_id=user.id,
        previous=previous,
        role=role,
    )
    return user


def set_active(actor: User, user: User, active: bool) -> User:
    """Deactivating signs the person out everywhere; their tokens stop working."""
    policy.require(actor, "manage_users")
    if user.active == active:
        return user
    if not active:
        _keep_one_admin(user)
        user.session_version += 1
        _end_sessions(user)
    user.active = active
    audit.record(
        db.session,
        "user_activated" if active else "user_deactivated",
        actor,
        object_type="user",
        object_id=user.id,
    )
    return user


def change_own_password(user: User, current: str, password: str) -> int:
    """A person changes their own password; the current one must be right."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise ValidationError(N_("That is not your current password.")) from None
    return set_password(user, user, password)


def set_password(actor: User, user: User, password: str) -> int:
    """A new password signs the account out everywhere and revokes its API tokens
    (whoever learnt the old password may have made one). Returns how many were revoked."""
    policy.require_account_change(actor, user)
    check_password_strength(password)
    user.password_hash = _hasher.hash(password)
    user.session_version += 1
    _end_sessions(user)
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    audit.record(
        db.session,
        "password_changed",
        actor,
        object_type="user",
        object_id=user.id,
        tokens_revoked=revoked,
    )
    return revoked


def _keep_one_admin(user: User) -> None:
    """The last active admin may not be demoted or deactivated: nobody could undo it."""
    if not policy.can(user, "manage_users"):
        return
    manage = User.role.in_(policy.roles_for("manage_users"))
    admins = db.session.scalar(
        select(func.count()).select_from(User).where(manage, User.active.is_(True))
    )
    if admins <= 1:
        raise ValidationError(N_("This is the last active admin; make another admin first."))


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: ``id:version:key``. A bumped version signs the user out
    everywhere; a sign-in whose row is gone (signed out, expired) is refused."""
    try:
        user_part, version_part, key = session_id.split(":")
        user_id, version = int(user_part), int(version_part)
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version or not key:
        return None
    known = db.session.scalar(
        select(UserSession.created_at).where(
            UserSession.user_id == user.id, UserSession.key_hash == _key_hash(key)
        )
    )
    if known is None or known < utcnow() - SESSION_LIFETIME:
        return None
    user.session_key = key
    return user


def set_locale(user: User, locale: str) -> None:
    """The interface language ``user`` chose in the picker (a code of ``i18n.LANGUAGES``)."""
    user.locale = locale
