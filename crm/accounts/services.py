"""Accounts: password hashing (Argon2id, memory-hard), creating users, signing in."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crm.accounts.models import ROLES, Department, User
from crm.db import utcnow

_hasher = PasswordHasher()   # argon2id, 64 MiB, t=3: the library's RFC 9106 low-memory profile
_DUMMY_HASH = _hasher.hash("not a password")

MIN_PASSWORD_LENGTH = 8


class AccountError(ValueError):
    pass


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def create_user(username: str, password: str, role: str, display_name: str = "",
                department: Department | None = None, locale: str | None = None) -> User:
    username = username.strip()
    if not username:
        raise AccountError("username is required")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    check_password_policy(password)
    if User.select().where(User.username == username).exists():
        raise AccountError(f"user {username!r} already exists")
    return User.create(username=username, password_hash=hash_password(password), role=role,
                       display_name=display_name or username, department=department,
                       locale=locale)


def set_password(user: User, password: str) -> None:
    check_password_policy(password)
    user.password_hash = hash_password(password)
    user.save(only=[User.password_hash])


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, else None (same work either way)."""
    user = User.get_or_none(User.username == username.strip())
    try:
        if user is None or not user.is_active:
            _hasher.verify(_DUMMY_HASH, password)   # spend the same time: no user enumeration
            return None
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    user.save(only=[User.password_hash, User.last_login_at])
    return user
