"""Staff accounts: organizations, users, password hashing and sign-in checks."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from app.accounts.models import ROLES, Organization, User
from app.extensions import db
from app.models_base import utcnow

_hasher = PasswordHasher()
# Verified when the e-mail is unknown, so a wrong e-mail costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


def normalize_email(email: str) -> str:
    """Trimmed, lower-case e-mail."""
    return (email or "").strip().lower()


def get_or_create_org(code: str, name: str | None = None) -> Organization:
    """The organization with this code, created when missing; the caller commits."""
    org = db.session.scalar(select(Organization).where(Organization.code == code))
    if org is None:
        if not code or not code.replace("-", "").replace("_", "").isalnum():
            raise AccountError(f"'{code}' is not a valid organization code")
        org = Organization(code=code, name=name or code)
        db.session.add(org)
        db.session.flush()
    return org


def create_user(org: Organization, email: str, password: str, role: str, name: str = "") -> User:
    """Add a staff user with a hashed password; the caller commits."""
    email = normalize_email(email)
    if "@" not in email or len(email) > 254:
        raise AccountError("a valid e-mail address is required")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    exists = db.session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if exists:
        raise AccountError(f"a user with e-mail {email} already exists")
    user = User(
        org_id=org.id, email=email, name=name, role=role, password_hash=_hasher.hash(password)
    )
    db.session.add(user)
    return user


def set_password(user: User, password: str) -> None:
    """Replace a user's password; the caller commits."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = _hasher.hash(password)


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same cost either way)."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    return user
