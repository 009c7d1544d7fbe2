"""One implementation per protocol fact (issue 13): plain tables for each, no sockets.

Each fact had two implementations that disagreed; the rows marked "was:" are the cases where one of them
was wrong (checked against the old code), and the table pins the spec's answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from containerregistry.emulator._auth_scopes import Scope as EmulatorScope
from containerregistry.protocol import scopes as scope_module
from containerregistry.protocol._fields import FieldReader
from containerregistry.protocol.acr import parse_rfc3339 as acr_parse_rfc3339
from containerregistry.protocol.challenge import parse_scope as challenge_parse_scope
from containerregistry.protocol.descriptors import ManifestFormatError
from containerregistry.protocol.http import error_from_response, parse_retry_after, redact_url
from containerregistry.protocol.models import OciAnnotations
from containerregistry.protocol.scopes import Scope, ScopeError, parse_scope
from containerregistry.protocol.timestamps import parse_rfc3339
from containerregistry.transport import RetryPolicy

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)

# -- Retry-After (RFC 9110 section 10.2.3: HTTP-date / delay-seconds, delay-seconds = 1*DIGIT) ----------

RETRY_AFTER = [
    ("120", 120.0),
    (" 7 ", 7.0),
    ("0", 0.0),
    ("1.5", 1.5),  # not RFC, tolerated by both old parsers
    ("+5", 5.0),  # both old parsers agreed
    ("-5", None),  # was: 0.0 in protocol/http.py (a negative delay is not delay-seconds)
    ("-0.5", None),  # was: 0.0 in protocol/http.py
    ("1e3", None),  # was: 1000.0 in transport/_policy.py (float() took an exponent)
    ("1_0", None),  # was: 10.0 in transport/_policy.py (float() took a digit separator)
    ("\u00b2", None),  # was: ValueError raised by transport/_policy.py (str.isdigit() but not float())
    ("\u0663", None),  # was: 3.0 in both (an Arabic-Indic digit is not an ASCII DIGIT)
    ("nan", None),
    ("inf", None),
    ("1e999", None),
    ("", None),
    ("soon", None),
    ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
    ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past: retry now
    ("Wednesday, 21-Oct-15 07:28:10 GMT", 10.0),  # obsolete RFC 850 form
    ("Wed Oct 21 07:28:20 2015", 20.0),  # was: None in transport/_policy.py (asctime form: GMT by RFC 9110)
    ("Wed, 21 Oct 2015 07:28:05 -0000", 5.0),  # was: None in transport/_policy.py
    ("Wed, 99 Foo 2015 07:28:00 GMT", None),
]


@pytest.mark.parametrize(("value", "expected"), RETRY_AFTER)
def test_retry_after(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


# HTTP-dates are left out here: the policy reads them against the real clock.
@pytest.mark.parametrize(("value", "expected"), [row for row in RETRY_AFTER if "Oct" not in row[0]])
def test_retry_policy_uses_the_same_parser(value: str, expected: float | None) -> None:
    # The retry policy waits what the header says, or falls back to its backoff when it is invalid.
    policy = RetryPolicy(backoff_factor=0.0, backoff_max=0.0, retry_after_max=1000.0)
    assert policy.delay(1, value) == (expected if expected is not None else 0.0)


@pytest.mark.parametrize(("value", "expected"), [("-5", None), ("1e3", None), ("120", 120.0), ("1.5", 1.5)])
def test_error_retry_after_uses_the_same_parser(value: str, expected: float | None) -> None:
    # The other caller: a 429/503 exception's `retry_after` (was: 0.0 for "-5", retry at once).
    error = error_from_response(
        429, {"Retry-After": value}, b"", method="GET", url="https://h/v2/", action="ping"
    )
    assert error.retry_after == expected


# -- URL redaction -------------------------------------------------------------------------------------

REDACT = [
    ("https://host/v2/a/blobs/uploads/u?_state=abc", "https://host/v2/a/blobs/uploads/u"),
    ("https://user:pw@reg.example:5000/v2/r?x=1#frag", "https://reg.example:5000/v2/r"),
    ("http://[::1]:5000/v2/a/blobs/x?sig=S", "http://[::1]:5000/v2/a/blobs/x"),  # was: http://::1:5000/...
    ("https://host/v2/team%2Fapp/tags/list?n=1", "https://host/v2/team%2Fapp/tags/list"),  # was: decoded
    ("https://Host.Example/p", "https://Host.Example/p"),
    ("https://a@b@host/path", "https://host/path"),
]


@pytest.mark.parametrize(("url", "expected"), REDACT)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


# -- scopes: one model, the client's lenient reading and the emulator's strict one -------------------------

SCOPES = [
    # text, lenient (client), strict (emulator grammar; None: refused)
    ("repository:app:pull", ("repository", "app", ("pull",)), ("repository", "app", ("pull",))),
    ("repository:localhost:5000/app:pull", ("repository", "localhost:5000/app", ("pull",)), None),
    ("registry:catalog:*", ("registry", "catalog", ("*",)), ("registry", "catalog", ("*",))),
    # was: ("pull", "push", "pull") in protocol/challenge.py; the emulator already kept each action once
    (
        "repository:app:pull,push,pull",
        ("repository", "app", ("pull", "push")),
        ("repository", "app", ("pull", "push")),
    ),
    ("repository:app:", ("repository", "app", ()), None),  # no action: nothing to grant
    ("repository:app:pull,,push", ("repository", "app", ("pull", "push")), None),  # empty action
    ("repository:app", None, None),
    ("repository::pull", None, None),
    (":app:pull", None, None),
    ("repository:a b:pull", None, None),
]


@pytest.mark.parametrize(("text", "lenient", "strict"), SCOPES)
def test_scope_grammar(
    text: str,
    lenient: tuple[str, str, tuple[str, ...]] | None,
    strict: tuple[str, str, tuple[str, ...]] | None,
) -> None:
    if lenient is None:
        with pytest.raises(ScopeError, match="malformed scope"):
            parse_scope(text)
    else:
        assert parse_scope(text) == Scope(*lenient)
    if strict is None:
        with pytest.raises(ScopeError):
            EmulatorScope.parse(text)
    else:
        assert EmulatorScope.parse(text) == EmulatorScope(*strict)
        assert str(EmulatorScope.parse(text)) == str(Scope(*strict))


def test_one_scope_model() -> None:
    assert challenge_parse_scope is scope_module.parse_scope
    assert issubclass(EmulatorScope, Scope)
    assert isinstance(EmulatorScope.parse("repository:a:pull"), Scope)


# -- RFC 3339 (section 5.6) ----------------------------------------------------------------------------

UTC = timezone.utc
PLUS2 = timezone(timedelta(hours=2))
RFC3339 = [
    ("2021-07-01T12:34:56Z", datetime(2021, 7, 1, 12, 34, 56, tzinfo=UTC)),
    ("2021-07-01T12:34:56.1234567Z", datetime(2021, 7, 1, 12, 34, 56, 123456, tzinfo=UTC)),  # ACR's 7 digits
    ("2021-07-01t12:34:56z", datetime(2021, 7, 1, 12, 34, 56, tzinfo=UTC)),
    ("2021-07-01 12:34:56Z", datetime(2021, 7, 1, 12, 34, 56, tzinfo=UTC)),  # space for T (section 5.6 note)
    ("2021-07-01T12:34:56+02:00", datetime(2021, 7, 1, 12, 34, 56, tzinfo=PLUS2)),
    ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),  # leap second
    ("2021-07-01T12:34:56", None),  # was: accepted as UTC by protocol/acr.py (no offset: not RFC 3339)
    ("2021-07-01T12:34:56+0200", None),  # was: accepted by protocol/acr.py (no colon)
    ("2021-07-01T12:34:56,5Z", None),  # was: accepted by protocol/acr.py (comma decimal sign)
    ("2021-07-01T12:34:56 Z", None),  # was: accepted by protocol/acr.py (space before the offset)
    ("2021-07-01T12:34:56+25:00", None),  # was: accepted by protocol/acr.py (offset hour > 23)
    ("2021-07-01T12:34:56+02:75", None),  # was: accepted by both (offset minute > 59)
    ("2021-07-01T12:34:61Z", None),  # was: read as :59 by both (second > 60)
    ("\u0662\u0660\u0662\u0661-07-01T12:34:56Z", None),  # was: accepted by both (non-ASCII digits)
    ("2021-02-30T00:00:00Z", None),
    ("2021-07-01", None),
    ("yesterday", None),
]


@pytest.mark.parametrize(("text", "expected"), RFC3339)
def test_rfc3339(text: str, expected: datetime | None) -> None:
    annotations = OciAnnotations({"org.opencontainers.image.created": text})
    if expected is None:
        with pytest.raises(ValueError, match="RFC 3339"):
            parse_rfc3339(text)
        with pytest.raises(ValueError, match="RFC 3339"):
            acr_parse_rfc3339(text)
        assert annotations.created is None
        return
    parsed = parse_rfc3339(text)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()
    assert annotations.created == expected
    # ACR's models are in UTC: the same instant.
    in_utc = acr_parse_rfc3339(text)
    assert in_utc == expected and in_utc.utcoffset() == timedelta(0)


# -- JSON field reading: one reader, the two wire formats' null policies --------------------------------

OCI = FieldReader(ManifestFormatError)
ACR = FieldReader(ValueError, null_is_absent=True)

FIELDS = [
    # reader, call, document, expected value or the error message
    (OCI, "string", {"k": "v"}, "v"),
    (OCI, "string", {}, None),
    (OCI, "string", {"k": None}, "config.k must be a string, got null"),
    (ACR, "string", {"k": None}, None),
    (OCI, "string", {"k": 5}, "config.k must be a string, got number"),
    (ACR, "string", {"k": 5}, "config.k must be a string, got number"),
    (OCI, "integer", {"k": 3}, 3),
    (OCI, "integer", {"k": True}, "config.k must be an integer, got boolean"),
    (ACR, "integer", {"k": 1.0}, "config.k must be an integer, got number"),
    (OCI, "strings", {"k": ["a", 1]}, "config.k[1] must be a string, got number"),
    (ACR, "strings", {"k": None}, None),
    (ACR, "boolean", {"k": "yes"}, "config.k must be true or false, got string"),
    (ACR, "boolean", {"k": False}, False),
    (OCI, "array", {"k": {}}, "config.k must be an array, got object"),
]


@pytest.mark.parametrize(("reader", "call", "document", "expected"), FIELDS)
def test_field_reader(reader: FieldReader, call: str, document: dict[str, object], expected: object) -> None:
    read = getattr(reader, call)
    if isinstance(expected, str) and " must " in expected:
        with pytest.raises(reader.error) as info:
            read(document, "k", "config")
        assert str(info.value) == expected
    else:
        assert read(document, "k", "config") == expected


def test_field_reader_required_and_objects() -> None:
    with pytest.raises(ManifestFormatError, match=r"^layers\.size is required but missing$"):
        OCI.integer({}, "size", "layers", required=True)
    with pytest.raises(ValueError, match=r"^the tag must be a JSON object, got array$"):
        ACR.object([], "the tag")
    with pytest.raises(ManifestFormatError, match=r"^size must not be negative, got -1$"):
        OCI.integer({"size": -1}, "size", required=True, non_negative=True)
