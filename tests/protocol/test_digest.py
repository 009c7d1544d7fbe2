"""Digest helpers: compute, parse, verify, incremental hashing."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from containerregistry.exceptions import DigestValidationError, InvalidReferenceError
from containerregistry.protocol.digest import (
    Hasher,
    compute_digest,
    digest_algorithm,
    new_hasher,
    parse_digest,
    verify_digest,
)
from containerregistry.protocol.media_types import OCI_EMPTY_DATA, OCI_EMPTY_DIGEST

EMPTY_SHA256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_known_vectors() -> None:
    assert compute_digest(b"") == EMPTY_SHA256
    assert compute_digest(OCI_EMPTY_DATA) == OCI_EMPTY_DIGEST
    assert compute_digest(b"abc", "sha512") == "sha512:" + hashlib.sha512(b"abc").hexdigest()


def test_parse_digest_and_algorithm() -> None:
    assert parse_digest(EMPTY_SHA256) == ("sha256", EMPTY_SHA256[7:])
    assert digest_algorithm("sha512:" + "0" * 128) == "sha512"
    with pytest.raises(InvalidReferenceError):
        parse_digest("sha256:" + "0" * 63)


def test_hasher_counts_and_accepts_buffers() -> None:
    hasher = Hasher()
    for chunk in (b"ab", bytearray(b"c"), memoryview(b"de")):
        hasher.update(chunk)
    assert hasher.size == 5
    assert hasher.digest == compute_digest(b"abcde")
    hasher.verify(compute_digest(b"abcde"))


def test_hasher_refuses_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unsupported digest algorithm 'md5'"):
        Hasher("md5")


def test_new_hasher_from_digest_picks_algorithm() -> None:
    assert new_hasher("sha512:" + "1" * 128).algorithm == "sha512"
    assert new_hasher("sha256").algorithm == "sha256"


def test_verify_digest_mismatch_carries_both_digests() -> None:
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestValidationError) as info:
        verify_digest(b"hello", wrong, what="blob")
    assert info.value.expected == wrong
    assert info.value.actual == compute_digest(b"hello")
    assert "blob does not match its digest" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_verify_digest_uses_expected_algorithm() -> None:
    verify_digest(b"x", compute_digest(b"x", "sha512"))


def test_verify_digest_malformed_expected() -> None:
    with pytest.raises(InvalidReferenceError):
        verify_digest(b"x", "sha256:nothex")


@given(st.binary(max_size=512), st.integers(min_value=0, max_value=512))
def test_incremental_equals_whole(data: bytes, cut: int) -> None:
    hasher = Hasher()
    hasher.update(data[:cut])
    hasher.update(data[cut:])
    assert hasher.digest == compute_digest(data)
    assert hasher.size == len(data)
