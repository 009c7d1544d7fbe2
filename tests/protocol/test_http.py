"""Table tests of the pure HTTP helpers."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from containerregistry.exceptions import (
    ClientAuthenticationError,
    ErrorDetail,
    HttpResponseError,
    OperationNotAllowedError,
    PermissionDeniedError,
    RegistryError,
    ResourceNotFoundError,
    TooManyRequestsError,
)
from containerregistry.protocol.http import (
    MAX_ERROR_BODY,
    add_query,
    error_from_response,
    join_location,
    parse_content_length,
    parse_content_range,
    parse_error_body,
    parse_link_next,
    parse_retry_after,
    parse_upload_range,
    range_answer_problem,
    redact_url,
    split_ranges,
)

BASE = "https://r.azurecr.io/acr/v1/_catalog?n=2"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        (
            '</acr/v1/_catalog?last=busybox&n=2&orderby=>; rel="next"',
            "https://r.azurecr.io/acr/v1/_catalog?last=busybox&n=2&orderby=",
        ),
        ("<https://other.io/v2/_catalog?last=b>; rel=next", "https://other.io/v2/_catalog?last=b"),
        ('<a?x=1,2>; rel="prev", <b?last=z>; rel="next"', "https://r.azurecr.io/acr/v1/b?last=z"),
        ('<p>; rel="prev"', None),
        ('<n>; rel="prev next"', "https://r.azurecr.io/acr/v1/n"),
        ('<n>; REL="Next"', "https://r.azurecr.io/acr/v1/n"),
        ('<n>; title="a, b; c"; rel="next"', "https://r.azurecr.io/acr/v1/n"),
        ('<n>;rel="next";rel="prev"', "https://r.azurecr.io/acr/v1/n"),  # first rel counts
        ('<n>; rel="nextpage"', None),
        ("garbage", None),
        ("<unterminated; rel=next", None),
        ('<n>; rel="next', None),  # unterminated quote
        ('<javascript:alert(1)>; rel="next"', None),
        ('<>; rel="next"', None),
        ('rel="next"', None),
    ],
)
def test_parse_link_next(header: str | None, expected: str | None) -> None:
    assert parse_link_next(header, BASE) == expected


@given(st.text(max_size=200))
def test_parse_link_next_never_raises(header: str) -> None:
    result = parse_link_next(header, BASE)
    assert result is None or result.startswith(("http://", "https://"))


@pytest.mark.parametrize(
    ("value", "sent", "expected"),
    [
        (None, None, None),
        ("", None, None),
        ("0-99", None, 100),
        ("0-1", None, 2),
        ("bytes=0-1023", None, 1024),
        (" 0-4 ", None, 5),
        ("0--1", None, 0),
        ("0-0", None, 0),  # Distribution's answer for an empty session
        ("0-0", 0, 0),
        ("0-0", 1, 1),  # the only sent count for which one held byte is consistent
        ("0-0", 5, 0),
        ("5-10", None, None),
        ("0-", None, None),
        ("abc", None, None),
        ("0-9/10", None, None),
    ],
)
def test_parse_upload_range(value: str | None, sent: int | None, expected: int | None) -> None:
    assert parse_upload_range(value, sent=sent) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes 0-99/100", (0, 99, 100)),
        ("bytes 100-199/*", (100, 199, None)),
        ("BYTES 5-5/6", (5, 5, 6)),
        ("bytes=0-0/1", (0, 0, 1)),
    ],
)
def test_parse_content_range(value: str, expected: tuple[int, int, int | None]) -> None:
    assert parse_content_range(value) == expected


@pytest.mark.parametrize(
    "value", ["", "bytes */100", "bytes 10-5/100", "bytes 0-100/100", "0-99/100", "bytes a-b/c", "bytes 0-99"]
)
def test_parse_content_range_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="Content-Range"):
        parse_content_range(value)


@given(st.text(max_size=60))
def test_parse_content_range_only_value_error(value: str) -> None:
    try:
        first, last, total = parse_content_range(value)
    except ValueError:
        return
    assert 0 <= first <= last
    assert total is None or last < total


# A header is ASCII: other scripts' digits (which int() accepts), Unicode spaces and the letter that matches
# "s" only under Unicode case folding (U+017F, long s) are not a range.
_NON_ASCII_RANGES = [
    "0-\u0663",  # ARABIC-INDIC DIGIT THREE: int() reads 3
    "\u0660-99",  # ARABIC-INDIC DIGIT ZERO
    "0-\uff19",  # FULLWIDTH DIGIT NINE
    "0-\u0967\u0968",  # DEVANAGARI ONE TWO
    "0\u2003-\u20039",  # EM SPACE around the dash
    "byte\u017f=0-9",  # LATIN SMALL LETTER LONG S
    "BYTE\u017f 0-9",
]


@pytest.mark.parametrize("value", _NON_ASCII_RANGES)
def test_parse_upload_range_ascii_only(value: str) -> None:
    assert parse_upload_range(value, sent=100) is None


@pytest.mark.parametrize(
    "value",
    [
        "bytes 0-\u0663/10",
        "bytes \u0660-3/10",
        "bytes 0-3/\u0661\u0660",
        "bytes 0-3/\uff11\uff10",
        "byte\u017f 0-3/10",
        "bytes\u20030-3/10",
        "bytes 0-3\u00a0/10",
    ],
)
def test_parse_content_range_ascii_only(value: str) -> None:
    with pytest.raises(ValueError, match="Content-Range"):
        parse_content_range(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("0", 0),
        ("1234", 1234),
        (" 12\t", 12),
        ("-1", None),
        ("+1", None),
        ("1e3", None),
        ("1_000", None),
        ("12, 12", None),
        ("\u00b2", None),  # SUPERSCRIPT TWO (latin-1 0xB2): isdigit() but int() raises
        ("\u0663", None),  # ARABIC-INDIC DIGIT THREE: int() reads 3
        ("\uff11\uff10", None),  # FULLWIDTH ONE ZERO
    ],
)
def test_parse_content_length(value: str | None, expected: int | None) -> None:
    assert parse_content_length(value) == expected


def test_bounded_reader_ignores_a_non_ascii_content_length() -> None:
    from containerregistry._bounded import BoundedDecoder

    decoder = BoundedDecoder(None, 10, "GET manifest")
    decoder.check_length("\u00b2")  # unknown length: the body is bounded while read (was a bare ValueError)
    decoder.check_length("\u0663\u0663")  # "33" to int(), over the limit: not a length either
    with pytest.raises(RegistryError, match="the response is 11 bytes"):
        decoder.check_length("11")


NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("120", 120.0),
        (" 3 ", 3.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-5", None),  # RFC 9110: delay-seconds is non-negative
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("Wed, 99 Foo 2015 07:28:00 GMT", None),
        ("nan", None),
        ("inf", None),
        ("1e999", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_parse_retry_after_naive_now_is_utc() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=NOW.replace(tzinfo=None)) == 10.0


@given(st.text(max_size=60))
def test_parse_retry_after_never_raises(value: str) -> None:
    result = parse_retry_after(value, now=NOW)
    assert result is None or result >= 0.0


def _errors(*entries: object) -> bytes:
    return json.dumps({"errors": list(entries)}).encode()


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"", None, []),
        (
            _errors({"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "x"}}),
            "application/json",
            [ErrorDetail("MANIFEST_UNKNOWN", "manifest unknown", {"Tag": "x"})],
        ),
        (_errors({"code": "DENIED"}), "application/json; charset=utf-8", [ErrorDetail("DENIED", "", None)]),
        (
            _errors({"code": "A", "message": 5}, "junk", {"message": "no code"}, {"code": "B"}),
            None,
            [ErrorDetail("A", "5", None), ErrorDetail("B", "", None)],
        ),
        (b"  \n" + _errors({"code": "X"}), "text/plain", [ErrorDetail("X", "", None)]),  # mislabelled JSON
        (b'{"code":"UNAUTHORIZED","message":"bad"}', None, [ErrorDetail("UNAUTHORIZED", "bad", None)]),
        (b"<html><body>502 Bad Gateway</body></html>", "text/html", []),
        (b"404 page not found\n", "text/plain; charset=utf-8", []),
        (b'{"errors": null}', "application/json", []),
        (b'{"errors": "oops"}', "application/json", []),
        (b"[1,2]", "application/json", []),
        (b'{"errors": [', "application/json", []),
        (b"\xff\xfe{", None, []),
        (b'{"a":' + b"[" * 30000 + b"]" * 30000 + b"}", None, []),  # too deep for the json module,
    ],
)
def test_parse_error_body(content: bytes, content_type: str | None, expected: list[ErrorDetail]) -> None:
    assert parse_error_body(content, content_type) == expected


def test_parse_error_body_reads_only_the_first_64_kib() -> None:
    small = _errors({"code": "X"})
    assert parse_error_body(small + b" " * MAX_ERROR_BODY, None) == [ErrorDetail("X")]
    # A JSON document longer than the limit is cut, hence unparsable: no entries, no exception.
    big = _errors({"code": "X", "message": "m" * MAX_ERROR_BODY})
    assert parse_error_body(big, "application/json") == []


@given(st.binary(max_size=300), st.one_of(st.none(), st.text(max_size=30)))
def test_parse_error_body_never_raises(content: bytes, content_type: str | None) -> None:
    for entry in parse_error_body(content, content_type):
        assert isinstance(entry.code, str) and entry.code


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, HttpResponseError),
        (401, ClientAuthenticationError),
        (403, PermissionDeniedError),
        (404, ResourceNotFoundError),
        (405, OperationNotAllowedError),
        (416, HttpResponseError),
        (429, TooManyRequestsError),
        (500, HttpResponseError),
        (599, HttpResponseError),
    ],
)
def test_error_class_by_status(status: int, cls: type[HttpResponseError]) -> None:
    error = error_from_response(status, {}, b"", method="GET", url="https://h/v2/", action="ping")
    assert type(error) is cls
    assert error.status_code == status


def test_error_message_and_redaction() -> None:
    body = _errors({"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"})
    error = error_from_response(
        404,
        httpx.Headers({"Content-Type": "application/json"}),
        body,
        method="get",
        url="https://user:secret@host/v2/repo/manifests/tag?sig=SECRET#frag",
        action="get manifest",
    )
    assert (
        str(error)
        == "get manifest failed: 404 MANIFEST_UNKNOWN: manifest unknown (GET https://host/v2/repo/manifests/tag)"
    )
    assert error.url == "https://host/v2/repo/manifests/tag"
    assert error.method == "GET"
    assert error.codes == ["MANIFEST_UNKNOWN"]
    assert "secret" not in str(error).lower()


def test_error_401_names_scope_not_realm_query() -> None:
    challenge = (
        'Bearer realm="https://auth.io/token?scope=decoy",service="registry",scope="repository:app:pull,push"'
    )
    error = error_from_response(
        401,
        httpx.Headers({"WWW-Authenticate": challenge}),
        _errors({"code": "UNAUTHORIZED", "message": "authentication required"}),
        method="PUT",
        url="https://h/v2/app/manifests/v1",
        action="set manifest",
    )
    assert isinstance(error, ClientAuthenticationError)
    assert "'repository:app:pull,push'" in str(error)
    assert "decoy" not in str(error)


def test_error_401_without_challenge_has_no_scope() -> None:
    error = error_from_response(
        401, {"www-authenticate": 'Basic realm="r"'}, b"", method="GET", url="https://h/v2/", action="ping"
    )
    assert str(error) == "ping failed: 401 Unauthorized (GET https://h/v2/)"


def test_error_retry_after_and_plain_dict_headers() -> None:
    error = error_from_response(
        429,
        {"retry-after": "7"},
        b"",
        method="GET",
        url="https://h/v2/a/blobs/sha256:x",
        action="download blob",
    )
    assert isinstance(error, TooManyRequestsError)
    assert error.retry_after == 7.0
    assert "429 Too Many Requests" in str(error)


def test_error_plain_text_body_is_quoted_briefly() -> None:
    error = error_from_response(
        404,
        {"Content-Type": "text/plain; charset=utf-8"},
        b"404 page not found\n",
        method="GET",
        url="https://h/v2/a/referrers/sha256:x",
        action="list referrers",
    )
    assert (
        str(error)
        == "list referrers failed: 404 Not Found: 404 page not found (GET https://h/v2/a/referrers/sha256:x)"
    )


def test_error_html_body_is_not_quoted_and_long_messages_are_clipped() -> None:
    html = error_from_response(
        502,
        {"content-type": "text/html"},
        b"<html>" + b"x" * 10_000,
        method="GET",
        url="https://h/",
        action="ping",
    )
    assert str(html) == "ping failed: 502 Bad Gateway (GET https://h/)"
    many = _errors(*({"code": f"C{i}", "message": "m\n" * 500} for i in range(5)))
    error = error_from_response(400, {}, many, method="PUT", url="https://h/", action="push")
    assert "and 2 more" in str(error)
    assert "\n" not in str(error)
    assert len(str(error)) < 1000
    assert len(error.errors) == 5


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://host/v2/a/blobs/uploads/u?_state=abc", "https://host/v2/a/blobs/uploads/u"),
        ("https://user:pass@host:5000/v2/?x=1", "https://host:5000/v2/"),
        ("https://a@b@host/path", "https://host/path"),
        ("https://host", "https://host"),
        ("https://user@host?q", "https://host"),
        ("/v2/a/blobs/uploads/u?_state=x", "/v2/a/blobs/uploads/u"),
        ("https://[::1:5000/x?y", "https://[::1:5000/x"),  # malformed, still no exception
        ("https://host/p#frag?x", "https://host/p"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


@pytest.mark.parametrize(
    ("base", "location", "expected"),
    [
        (
            "https://r.azurecr.io",
            "/v2/a/blobs/uploads/u?_nouploadcache=false&_state=S",
            "https://r.azurecr.io/v2/a/blobs/uploads/u?_nouploadcache=false&_state=S",
        ),
        (
            "https://r.azurecr.io/v2/a/blobs/uploads/",
            "/v2/a/blobs/uploads/u",
            "https://r.azurecr.io/v2/a/blobs/uploads/u",
        ),
        (
            "http://127.0.0.1:5000",
            "http://127.0.0.1:5000/v2/a/blobs/uploads/u?_state=S",
            "http://127.0.0.1:5000/v2/a/blobs/uploads/u?_state=S",
        ),
        (
            "https://r.io",
            "https://storage.blob.core.windows.net/x?sig=1",
            "https://storage.blob.core.windows.net/x?sig=1",
        ),
        ("https://r.io/v2/a/blobs/uploads/", "u1", "https://r.io/v2/a/blobs/uploads/u1"),
        ("https://r.io", "  /v2/x  ", "https://r.io/v2/x"),
    ],
)
def test_join_location(base: str, location: str, expected: str) -> None:
    assert join_location(base, location) == expected


@pytest.mark.parametrize("location", ["", "   ", "ftp://host/x"])
def test_join_location_rejects(location: str) -> None:
    with pytest.raises(ValueError, match="Location"):
        join_location("https://r.io", location)


def test_join_location_error_does_not_leak_query() -> None:
    with pytest.raises(ValueError) as info:
        join_location("https://r.io", "ftp://host/x?sig=SECRET")
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "params", "kwargs", "expected"),
    [
        ("https://h/u", None, {"digest": "sha256:ab"}, "https://h/u?digest=sha256%3Aab"),
        (
            "https://h/u?_state=a%2Fb",
            None,
            {"digest": "sha256:ab"},
            "https://h/u?_state=a%2Fb&digest=sha256%3Aab",
        ),
        ("https://h/u?", None, {"n": 10}, "https://h/u?n=10"),
        ("https://h/u?a=1&", None, {"n": 10}, "https://h/u?a=1&n=10"),
        (
            "/v2/a/blobs/uploads/",
            {"mount": "sha256:ab", "from": "team/base"},
            {},
            "/v2/a/blobs/uploads/?mount=sha256%3Aab&from=team%2Fbase",
        ),
        ("https://h/u", None, {"last": None, "n": 2}, "https://h/u?n=2"),
        ("https://h/u", None, {}, "https://h/u"),
        ("https://h/u#f", None, {"q": "a b&c=d"}, "https://h/u?q=a%20b%26c%3Dd#f"),
    ],
)
def test_add_query(
    url: str, params: dict[str, object] | None, kwargs: dict[str, object], expected: str
) -> None:
    assert add_query(url, params, **kwargs) == expected


def test_split_ranges_covers_the_span_in_pieces() -> None:
    assert split_ranges(0, 20, 8) == [(0, 8), (8, 16), (16, 20)]
    assert split_ranges(5, 13, 8) == [(5, 13)]
    assert split_ranges(4, 4, 8) == []


@pytest.mark.parametrize(
    ("status", "content_range", "problem"),
    [
        (206, "bytes 8-15/20", None),
        (200, "", "answered a range request with 200"),
        (206, "", "sent invalid Content-Range"),
        (206, "bytes 0-7/20", "asked for bytes 8-15/20, got 0-7/20"),
        (206, "bytes 8-15/21", "asked for bytes 8-15/20, got 8-15/21"),
        (206, "bytes 8-15/*", "asked for bytes 8-15/20, got 8-15/None"),
    ],
)
def test_range_answer_problem_names_what_does_not_match(
    status: int, content_range: str, problem: str | None
) -> None:
    found = range_answer_problem(status, content_range, 8, 16, 20)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)
