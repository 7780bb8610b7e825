"""Password hashing with Argon2id (argon2-cffi's defaults, which follow RFC 9106's second choice).

Hashing costs tens of milliseconds of CPU, so callers run these in a thread.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

# Verified against when the email is unknown, so "no such user" costs what "wrong password" costs.
_DUMMY_HASH = _hasher.hash("not-a-real-password: timing equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown user) spends the same time and says False."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with other parameters than today's: rehash it at the next login."""
    return _hasher.check_needs_rehash(password_hash)
