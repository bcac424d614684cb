"""Accounts: creating people, signing them in, changing roles, deactivating.

Services own their transaction and write the audit event with the change.
"""

from __future__ import annotations

import logging
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from archive import audit
from archive.errors import AuthenticationError, ConflictError, NotFoundError, ValidationError
from archive.extensions import db
from archive.models import ROLES, User, utcnow

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
        raise ValidationError(f"That email address is not valid: {exc}") from None


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(ROLES)}.")
    return role


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError()
    return user


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
        raise ConflictError("An account with that email address already exists.")
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
    user = _new_user(email, role, password, display_name)
    audit.record(
        db.session, "user_created", actor, object_type="user", object_id=user.id, role=role
    )
    db.session.commit()
    log.info("user %s created with role %s", user.id, role)
    return user


def register_researcher(email: str, password: str, display_name: str = "") -> User:
    """Self-registration: a researcher account that can see nothing until granted."""
    user = _new_user(email, "researcher", password, display_name)
    audit.record(db.session, "user_registered", user, object_type="user", object_id=user.id)
    db.session.commit()
    return user


def ensure_first_admin(email: str | None, password: str | None) -> tuple[User, str | None] | None:
    """Create the first admin when there is none.

    Returns the user and the generated password (to print once), or None when an
    admin exists already.
    """
    if db.session.scalar(select(func.count()).select_from(User).where(User.role == "admin")):
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    user = create_user(None, email or "admin@example.org", "admin", password, "Administrator")
    return user, generated


def first_admin() -> User | None:
    """The oldest active admin: who the command line acts as when it must act as someone."""
    query = select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id)
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
        db.session.commit()
        raise AuthenticationError()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    audit.record(db.session, "sign_in", user, object_type="user", object_id=user.id)
    db.session.commit()
    return user


def record_sign_out(user: User) -> None:
    audit.record(db.session, "sign_out", user, object_type="user", object_id=user.id)
    db.session.commit()


def change_role(actor: User, user: User, role: str) -> User:
    check_role(role)
    if user.role == role:
        return user
    _keep_one_admin(user)
    previous, user.role = user.role, role
    user.session_version += 1  # pages cached for the old role must not linger
    audit.record(
        db.session,
        "role_changed",
        actor,
        object_type="user",
        object_id=user.id,
        previous=previous,
        role=role,
    )
    db.session.commit()
    return user


def set_active(actor: User, user: User, active: bool) -> User:
    """Deactivating signs the person out everywhere; their tokens stop working."""
    if user.active == active:
        return user
    if not active:
        _keep_one_admin(user)
        user.session_version += 1
    user.active = active
    audit.record(
        db.session,
        "user_activated" if active else "user_deactivated",
        actor,
        object_type="user",
        object_id=user.id,
    )
    db.session.commit()
    return user


def change_own_password(user: User, current: str, password: str) -> None:
    """A person changes their own password; the current one must be right."""
    try:
        _hasher.verify(user.password_hash, current)
    except (VerificationError, InvalidHashError):
        raise ValidationError("That is not your current password.") from None
    set_password(user, user, password)


def set_password(actor: User, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = _hasher.hash(password)
    user.session_version += 1
    audit.record(db.session, "password_changed", actor, object_type="user", object_id=user.id)
    db.session.commit()


def _keep_one_admin(user: User) -> None:
    """The last active admin may not be demoted or deactivated: nobody could undo it."""
    if user.role != "admin" or not user.active:
        return
    admins = db.session.scalar(
        select(func.count()).select_from(User).where(User.role == "admin", User.active.is_(True))
    )
    if admins <= 1:
        raise ValidationError("This is the last active admin; make another admin first.")


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: ``id:version`` so a bumped version signs the user out."""
    try:
        user_id, version = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.active or user.session_version != version:
        return None
    return user
