"""Password hashes of emulator users: check a password against a stored hash, and make a hash.

Supported hashes (the format tells which):

- bcrypt, `$2y$...` / `$2b$...` / `$2a$...`, as written by `htpasswd -B` (what CNCF Distribution's
  htpasswd auth uses); checking one needs the `bcrypt` package.
- PBKDF2-SHA256, `$pbkdf2-sha256$<iterations>$<salt>$<hash>` (salt and hash in unpadded base64), checked
  with the standard library; `hash_password` makes these (`creg serve --hash-password`).

Verified passwords are remembered (a keyed digest of them, per process), so a client sending Basic
credentials on every request pays for the slow hash once, not on every request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading

__all__ = ["check_password", "hash_password", "validate_hash"]

_PBKDF2 = "pbkdf2-sha256"
_PBKDF2_ITERATIONS = 100_000
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_CACHE_KEY = secrets.token_bytes(32)
_CACHE_SIZE = 4096
_verified: dict[bytes, None] = {}
_lock = threading.Lock()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.replace(".", "+") + "=" * (-len(text) % 4))


def hash_password(password: str, *, iterations: int = _PBKDF2_ITERATIONS) -> str:
    """A `$pbkdf2-sha256$...` hash of `password` with a random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"${_PBKDF2}${iterations}${_b64(salt)}${_b64(digest)}"


def validate_hash(value: str, username: str) -> None:
    """Raise ValueError when `value` is not a supported hash (the message never shows the hash)."""
    if value.startswith(_BCRYPT_PREFIXES):
        try:
            import bcrypt  # noqa: F401
        except ImportError:
            raise ValueError(
                f"user {username!r} has a bcrypt hash: install the 'bcrypt' package to check it, "
                "or make a PBKDF2 hash with `creg serve --hash-password`"
            ) from None
        return
    parts = value.split("$")
    if len(parts) == 5 and parts[0] == "" and parts[1] == _PBKDF2:
        try:
            if int(parts[2]) > 0 and _unb64(parts[3]) and _unb64(parts[4]):
                return
        except ValueError:
            pass
    raise ValueError(
        f"user {username!r}: unsupported password hash; use bcrypt (htpasswd -B) or "
        "$pbkdf2-sha256$ (creg serve --hash-password)"
    )


def _matches(password: bytes, stored: str) -> bool:
    if stored.startswith(_BCRYPT_PREFIXES):
        import bcrypt

        try:
            # htpasswd writes $2y$, which the bcrypt package checks as $2b$ (the same algorithm).
            return bool(bcrypt.checkpw(password, ("$2b$" + stored[4:]).encode()))
        except ValueError:
            return False
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != _PBKDF2:
        return False
    try:
        iterations, salt, expected = int(parts[2]), _unb64(parts[3]), _unb64(parts[4])
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password, salt, iterations)
    return hmac.compare_digest(digest, expected)


def check_password(password: str, stored_hash: str) -> bool:
    """Whether `password` matches `stored_hash` (bcrypt or PBKDF2-SHA256)."""
    raw = password.encode("utf-8")
    key = hmac.new(_CACHE_KEY, stored_hash.encode() + b"\0" + raw, hashlib.sha256).digest()
    with _lock:
        if key in _verified:
            return True
    if not _matches(raw, stored_hash):
        return False
    with _lock:
        if len(_verified) >= _CACHE_SIZE:
            _verified.pop(next(iter(_verified)))
        _verified[key] = None
    return True
