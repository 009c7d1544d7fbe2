"""WWW-Authenticate and scope parsing (pure): table tests and Hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from containerregistry.protocol.challenge import (
    Challenge,
    Scope,
    format_scope,
    merge_scopes,
    parse_scope,
    parse_scopes,
    parse_www_authenticate,
    scopes_cover,
    select_challenge,
)

CASES = [
    (
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
        [
            (
                "bearer",
                {
                    "realm": "https://auth.docker.io/token",
                    "service": "registry.docker.io",
                    "scope": "repository:library/alpine:pull",
                },
            )
        ],
    ),
    ('BASIC realm="Registry Realm"', [("basic", {"realm": "Registry Realm"})]),
    ('bearer REALM="r" , Service = "s"', [("bearer", {"realm": "r", "service": "s"})]),
    ('Basic realm="a\\"b\\\\c"', [("basic", {"realm": 'a"b\\c'})]),
    (
        'Basic realm="x", Bearer realm="y",scope="a:b:c"',
        [("basic", {"realm": "x"}), ("bearer", {"realm": "y", "scope": "a:b:c"})],
    ),
    (
        "Bearer realm=https://t/token,service=reg",
        [("bearer", {"realm": "https://t/token", "service": "reg"})],
    ),
    (
        'Bearer realm="r",scope="repository:a:pull",scope="repository:b:push"',
        [("bearer", {"realm": "r", "scope": "repository:a:pull repository:b:push"})],
    ),
    (
        'Bearer realm="r", error="insufficient_scope"',
        [("bearer", {"realm": "r", "error": "insufficient_scope"})],
    ),
    ("Negotiate", [("negotiate", {})]),
    ('Bearer realm="unterminated', [("bearer", {"realm": "unterminated"})]),
    ('Bearer realm="r",,, ,service="s"', [("bearer", {"realm": "r", "service": "s"})]),
    ("", []),
    ("   ,  ,", []),
    ("=,==,=", []),
    ('"just a string"', []),
]


@pytest.mark.parametrize(("header", "expected"), CASES)
def test_parse_table(header: str, expected: list[tuple[str, dict[str, str]]]) -> None:
    parsed = parse_www_authenticate(header)
    assert [(c.scheme, dict(c.params)) for c in parsed] == expected


def test_token68_and_several_headers() -> None:
    parsed = parse_www_authenticate(["Negotiate abc+/==", 'Basic realm="r"'])
    assert parsed[0] == Challenge("negotiate", {}, "abc+/==")
    assert parsed[1].scheme == "basic" and parsed[1].realm == "r"


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ('Basic realm="r", Bearer realm="https://t/token"', "bearer"),
        ('Negotiate abc==, Basic realm="r"', "basic"),
        ("Negotiate abc==", None),
        ("", None),
    ],
)
def test_select_challenge_prefers_bearer_then_basic(header: str, chosen: str | None) -> None:
    picked = select_challenge(parse_www_authenticate(header))
    assert (picked.scheme if picked else None) == chosen


def test_challenge_properties() -> None:
    (challenge,) = parse_www_authenticate(
        'Bearer realm="https://h/oauth2/token",service="h",scope="a:b:c d:e:f"'
    )
    assert challenge.realm == "https://h/oauth2/token"
    assert challenge.service == "h"
    assert challenge.scopes == ("a:b:c", "d:e:f")
    assert parse_www_authenticate("Basic")[0].scopes == ()


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_garbage_never_crashes(text: str) -> None:
    result = parse_www_authenticate(text)
    assert isinstance(result, list)
    assert all(isinstance(c, Challenge) and c.scheme == c.scheme.lower() and c.scheme for c in result)


_TOKEN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~",
    min_size=1,
    max_size=12,
)
_VALUE = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(
    st.lists(
        st.tuples(
            _TOKEN,
            st.dictionaries(
                _TOKEN.map(str.lower).filter(lambda n: n != "scope"), _VALUE, min_size=1, max_size=4
            ),
        ),
        min_size=1,
        max_size=4,
    )
)
@settings(max_examples=200, deadline=None)
def test_round_trip(challenges: list[tuple[str, dict[str, str]]]) -> None:
    header = ", ".join(
        scheme + " " + ", ".join(f"{name}={_quote(value)}" for name, value in params.items())
        for scheme, params in challenges
    )
    parsed = parse_www_authenticate(header)
    assert [(c.scheme, dict(c.params)) for c in parsed] == [(s.lower(), p) for s, p in challenges]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repository:app:pull", Scope("repository", "app", ("pull",))),
        ("repository:team/app:pull,push", Scope("repository", "team/app", ("pull", "push"))),
        ("repository:localhost:5000/app:pull", Scope("repository", "localhost:5000/app", ("pull",))),
        ("registry:catalog:*", Scope("registry", "catalog", ("*",))),
        ("repository(plugin):p:pull", Scope("repository(plugin)", "p", ("pull",))),
        ("repository:app:", Scope("repository", "app", ())),
    ],
)
def test_parse_scope(text: str, expected: Scope) -> None:
    assert parse_scope(text) == expected
    assert format_scope(expected) == text
    assert str(expected) == text


@pytest.mark.parametrize(
    "bad", ["", "repository", "repository:app", ":app:pull", "repository::pull", "a b:c:d"]
)
def test_parse_scope_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_scope(bad)


def test_parse_scopes_skips_bad_entries() -> None:
    assert parse_scopes("repository:a:pull junk registry:catalog:*") == [
        Scope("repository", "a", ("pull",)),
        Scope("registry", "catalog", ("*",)),
    ]


def test_merge_scopes() -> None:
    merged = merge_scopes(
        ["repository:a:pull", "repository:b:pull"], ["repository:a:push", "registry:catalog:*"]
    )
    assert merged == ("registry:catalog:*", "repository:a:pull,push", "repository:b:pull")
    assert merge_scopes([], []) == ()
    assert merge_scopes(["repository:a:push,pull"], ["repository:a:pull"]) == ("repository:a:pull,push",)


def test_scopes_cover() -> None:
    held = ("repository:a:pull,push", "registry:catalog:*")
    assert scopes_cover(held, ["repository:a:pull"])
    assert scopes_cover(held, ["repository:a:push,pull", "registry:catalog:search"])
    assert not scopes_cover(held, ["repository:a:delete"])
    assert not scopes_cover(held, ["repository:b:pull"])
    assert scopes_cover(held, [])


_NAME = st.from_regex(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]{1,5})?(?:/[a-z0-9]+)*", fullmatch=True)


@given(
    st.sampled_from(["repository", "registry", "repository(plugin)"]),
    _NAME,
    st.lists(st.sampled_from(["pull", "push", "delete", "metadata_read", "*"]), max_size=3, unique=True),
)
@settings(max_examples=200, deadline=None)
def test_scope_round_trip(kind: str, name: str, actions: list[str]) -> None:
    scope = Scope(kind, name, tuple(actions))
    assert parse_scope(format_scope(scope)) == scope
    assert scopes_cover(merge_scopes([format_scope(scope)], []), [format_scope(scope)])
