"""Accounts: password hashing (Argon2id, memory-hard), creating users, signing in."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from crm.accounts import policy
from crm.accounts.models import ROLES, Department, User
from crm.db import utcnow

_hasher = PasswordHasher()   # argon2id, 64 MiB, t=3: the library's RFC 9106 low-memory profile
_DUMMY_HASH = _hasher.hash("not a password")

MIN_PASSWORD_LENGTH = policy.DEFAULT_MIN_LENGTH


class AccountError(ValueError):
    pass


class PasswordPolicyError(AccountError):
    """The password breaks the policy: ``problems`` lists why (translated in a request)."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str, username: str = "") -> None:
    found = policy.problems(password, username)
    if found:
        raise PasswordPolicyError(found)


def create_user(username: str, password: str, role: str, display_name: str = "",
                department: Department | None = None, locale: str | None = None,
                must_change_password: bool = False, enforce_policy: bool = True) -> User:
    """A new user.  ``enforce_policy=False`` only for passwords nobody chose (demo data)."""
    username = username.strip()
    if not username:
        raise AccountError("username is required")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if enforce_policy:
        check_password_policy(password, username)
    if User.select().where(User.username == username).exists():
        raise AccountError(f"user {username!r} already exists")
    return User.create(username=username, password_hash=hash_password(password), role=role,
                       display_name=display_name or username, department=department,
                       locale=locale, must_change_password=must_change_password,
                       password_changed_at=utcnow())


def set_password(user: User, password: str, must_change: bool = False) -> None:
    """A new password (checked against the policy).  ``must_change``: an administrator set it,
    so the user chooses their own at the next request.  The user's other sessions end."""
    check_password_policy(password, user.username)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    user.password_changed_at = utcnow()
    user.save(only=[User.password_hash, User.must_change_password, User.password_changed_at])


def verify_password(user: User, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def authenticate(username: str, password: str) -> User | None:
    """The active user with these credentials, else None (same work either way: an unknown or
    inactive user still costs one Argon2 verification, so timing does not tell them apart)."""
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
