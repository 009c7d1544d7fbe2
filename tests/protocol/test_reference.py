"""Table-driven tests of the reference grammar: good names parse, bad names name their bad part."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from containerregistry.exceptions import InvalidReferenceError
from containerregistry.protocol.reference import (
    Reference,
    parse_reference,
    validate_digest,
    validate_repository,
    validate_tag,
)

D256 = "sha256:" + "a" * 64
D512 = "sha512:" + "b" * 128

GOOD: list[tuple[str, tuple[str, str, str | None, str | None]]] = [
    ("hello", ("", "hello", None, None)),
    ("hello:latest", ("", "hello", "latest", None)),
    ("library/hello:1.0", ("", "library/hello", "1.0", None)),
    ("myregistry.azurecr.io/app", ("myregistry.azurecr.io", "app", None, None)),
    ("myregistry.azurecr.io/app:v1", ("myregistry.azurecr.io", "app", "v1", None)),
    ("myregistry.azurecr.io/team/app:v1", ("myregistry.azurecr.io", "team/app", "v1", None)),
    ("localhost/app", ("localhost", "app", None, None)),
    ("localhost:5000/app:dev", ("localhost:5000", "app", "dev", None)),
    ("127.0.0.1:5000/a/b/c", ("127.0.0.1:5000", "a/b/c", None, None)),
    ("[::1]:5000/app:tag", ("[::1]:5000", "app", "tag", None)),
    ("[::1]/app", ("[::1]", "app", None, None)),
    ("[2001:db8::1]:443/x", ("[2001:db8::1]:443", "x", None, None)),
    ("Registry.Example.COM/app", ("Registry.Example.COM", "app", None, None)),
    (f"app@{D256}", ("", "app", None, D256)),
    (f"host.io/app@{D512}", ("host.io", "app", None, D512)),
    (f"host.io/app:v1@{D256}", ("host.io", "app", "v1", D256)),
    ("a__b", ("", "a__b", None, None)),
    ("a_b.c-d", ("", "a_b.c-d", None, None)),
    ("a---b", ("", "a---b", None, None)),
    ("app:_tag", ("", "app", "_tag", None)),
    ("app:V1.2.3-rc_1", ("", "app", "V1.2.3-rc_1", None)),
    ("app:" + "t" * 128, ("", "app", "t" * 128, None)),
    ("a" * 255, ("", "a" * 255, None, None)),
    ("h.io/" + "a" * 250, ("h.io", "a" * 250, None, None)),
    ("0/1", ("", "0/1", None, None)),
]

# (reference, a fragment the error message must contain: the bad part, or why)
BAD: list[tuple[str, str]] = [
    ("", "empty"),
    ("Hello", "'Hello'"),
    ("host.io/App", "'App'"),
    ("app:" + "t" * 129, "invalid tag"),
    ("app:", "invalid tag ''"),
    ("app:.hidden", "'.hidden'"),
    ("app:-dash", "'-dash'"),
    ("a___b", "'a___b'"),
    ("a..b", "'a..b'"),
    ("a//b", "'a//b'"),
    ("a/", "'a/'"),
    ("/a", "'/a'"),
    ("host.io/", "missing repository name"),
    ("-a", "'-a'"),
    ("a-", "'a-'"),
    ("a_", "'a_'"),
    ("app@sha256:abc", "sha256 needs 64"),
    ("app@sha256:" + "a" * 63, "sha256 needs 64"),
    ("app@sha256:" + "a" * 65, "sha256 needs 64"),
    ("app@sha256:" + "A" * 64, "lowercase hex"),
    ("app@sha512:" + "a" * 64, "sha512 needs 128"),
    ("app@md5:" + "a" * 32, "unsupported algorithm 'md5'"),
    ("app@" + "a" * 64, "invalid digest"),
    ("app@", "invalid digest ''"),
    ("https://host.io/app", "remove the scheme ('https://')"),
    # The message names the scheme the user typed, not another one.
    ("http://host.io/app", "remove the scheme ('http://')"),
    ("app :tag", "whitespace"),
    ("a" * 256, "256 characters"),
    ("h.io/" + "a" * 251, "256 characters"),
    ("host_x.io/app", "invalid registry host 'host_x.io'"),
    ("[::1/app", "invalid registry host"),
    ("localhost:99999/app", "invalid registry port 99999"),
    ("localhost:0/app", "invalid registry port 0"),
    ("host.io:port/app", "invalid registry host 'host.io:port'"),
    ("app:tag:more", "'tag:more'"),
    ("app@sha256:" + "a" * 64 + "@x", "invalid digest"),
]


@pytest.mark.parametrize(("text", "expected"), GOOD, ids=[g[0][:40] for g in GOOD])
def test_good_references(text: str, expected: tuple[str, str, str | None, str | None]) -> None:
    ref = parse_reference(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == expected
    # The string form parses back to the same reference.
    assert parse_reference(str(ref)) == ref


@pytest.mark.parametrize(("text", "fragment"), BAD, ids=[b[0][:40] for b in BAD])
def test_bad_references_name_the_bad_part(text: str, fragment: str) -> None:
    with pytest.raises(InvalidReferenceError) as info:
        parse_reference(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_table_is_large_enough() -> None:
    assert len(GOOD) + len(BAD) >= 40


def test_digest_wins_over_tag() -> None:
    ref = parse_reference(f"host.io/app:v1@{D256}")
    assert ref.identifier == D256
    assert ref.tag == "v1"
    assert str(ref) == f"host.io/app:v1@{D256}"


def test_default_registry_and_scope() -> None:
    ref = parse_reference("team/app:1", default_registry="r.azurecr.io")
    assert ref.registry == "r.azurecr.io"
    assert ref.scope() == "repository:team/app:pull"
    assert ref.scope("pull", "push") == "repository:team/app:pull,push"
    # A host with a port stays out of the scope's name.
    assert parse_reference("localhost:5000/app").scope("delete") == "repository:app:delete"


def test_with_tag_and_with_digest_validate() -> None:
    ref = Reference("h.io", "app")
    assert ref.with_tag("v2").tag == "v2"
    assert ref.with_digest(D256).identifier == D256
    with pytest.raises(InvalidReferenceError, match="invalid tag"):
        ref.with_tag("bad tag")
    with pytest.raises(InvalidReferenceError, match="invalid digest"):
        ref.with_digest("sha256:xyz")


@pytest.mark.parametrize("tag", ["a", "_", "A" * 128, "1.0", "v_1-2.3"])
def test_validate_tag_good(tag: str) -> None:
    assert validate_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".a", "-a", "A" * 129, "a/b", "a:b", "a b", "ä"])
def test_validate_tag_bad(tag: str) -> None:
    with pytest.raises(InvalidReferenceError, match="invalid tag"):
        validate_tag(tag)


def test_validate_repository_long_name_message() -> None:
    with pytest.raises(InvalidReferenceError, match="256 characters long, the limit is 255"):
        validate_repository("a" * 256)


def test_validate_digest_returns_input() -> None:
    assert validate_digest(D512) == D512


def test_non_strings_are_refused() -> None:
    for bad in (None, 5, b"app"):
        with pytest.raises(InvalidReferenceError):
            validate_repository(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidReferenceError):
            validate_digest(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidReferenceError):
            parse_reference(bad)  # type: ignore[arg-type]


@given(st.text(max_size=300))
def test_parse_reference_only_raises_invalid_reference(text: str) -> None:
    try:
        ref = parse_reference(text)
    except InvalidReferenceError:
        return
    assert ref.repository
    assert parse_reference(str(ref)) == ref


_component = st.from_regex(r"[a-z0-9]{1,5}(?:(?:\.|_|__|-{1,2})[a-z0-9]{1,5}){0,2}", fullmatch=True)


@given(
    st.lists(_component, min_size=1, max_size=3),
    st.one_of(st.none(), st.from_regex(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,20}", fullmatch=True)),
)
def test_generated_valid_names_parse(components: list[str], tag: str | None) -> None:
    name = "/".join(components)
    text = f"registry.example:5000/{name}" + (f":{tag}" if tag else "")
    ref = parse_reference(text)
    assert ref.repository == name
    assert ref.tag == tag
