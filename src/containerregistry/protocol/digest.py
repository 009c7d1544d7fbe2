"""Digest helpers: compute, parse, verify (sha256 and sha512)."""

from __future__ import annotations

import hashlib
from typing import Protocol

from ..exceptions import DigestValidationError
from .reference import Digest, validate_digest

__all__ = ["Hasher", "compute_digest", "digest_algorithm", "new_hasher", "parse_digest", "verify_digest"]

SUPPORTED_ALGORITHMS = ("sha256", "sha512")


class _Hash(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


def parse_digest(digest: str) -> tuple[str, str]:
    """Split a digest into (algorithm, hex). Raises `InvalidReferenceError` when malformed."""
    validate_digest(digest)
    algorithm, _, encoded = digest.partition(":")
    return algorithm, encoded


def digest_algorithm(digest: str) -> str:
    """The algorithm of a digest (`sha256`). Raises `InvalidReferenceError` when malformed."""
    return parse_digest(digest)[0]


class Hasher:
    """Incremental digest computation that also counts bytes."""

    __slots__ = ("_hash", "algorithm", "size")

    def __init__(self, algorithm: str = "sha256") -> None:
        if algorithm not in SUPPORTED_ALGORITHMS:
            raise ValueError(f"unsupported digest algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._hash: _Hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed more bytes."""
        self._hash.update(data)  # type: ignore[arg-type]
        self.size += len(data)

    @property
    def digest(self) -> str:
        """The digest of the bytes seen so far, `<algorithm>:<hex>`."""
        return f"{self.algorithm}:{self._hash.hexdigest()}"

    def verify(self, expected: str, *, what: str = "content") -> None:
        """Raise `DigestValidationError` unless the bytes seen hash to `expected`."""
        actual = self.digest
        if actual != expected:
            raise DigestValidationError(
                f"{what} does not match its digest: expected {expected}, got {actual}",
                expected=expected,
                actual=actual,
            )


def new_hasher(digest_or_algorithm: Digest | str = "sha256") -> Hasher:
    """A hasher for the algorithm of a digest (a parsed `Digest`, or `sha512:...`) or an algorithm name."""
    if isinstance(digest_or_algorithm, Digest):
        return Hasher(digest_or_algorithm.algorithm)  # parsed already: not validated again
    if ":" in digest_or_algorithm:
        return Hasher(digest_algorithm(digest_or_algorithm))
    return Hasher(digest_or_algorithm)


def compute_digest(data: bytes | bytearray | memoryview, algorithm: str = "sha256") -> str:
    """The digest of `data`, e.g. `sha256:<64 hex>`. Raises `ValueError` for unsupported algorithms."""
    hasher = Hasher(algorithm)
    hasher.update(data)
    return hasher.digest


def verify_digest(data: bytes | bytearray | memoryview, expected: str, *, what: str = "content") -> None:
    """Raise `DigestValidationError` unless `data` hashes to `expected` (with `expected`'s algorithm).

    A malformed `expected` raises `InvalidReferenceError` (also a `ValueError`) instead.
    """
    hasher = new_hasher(expected)
    hasher.update(data)
    hasher.verify(expected, what=what)
