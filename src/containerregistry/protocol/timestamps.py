"""RFC 3339 time stamps: the one parser, used by the OCI annotations, image configs and ACR's metadata.

RFC 3339 section 5.6: `full-date "T" full-time`, where `full-time` always ends with an offset (`Z` or
`+hh:mm` / `-hh:mm`, hours 00-23, minutes 00-59). The letters `T` and `Z` may be lowercase, and a space
may stand for the `T` (the note in section 5.6). A fraction may have any number of digits (Go writes
nanoseconds, ACR .NET's seven): Python keeps microseconds, so the rest is dropped (truncated, not rounded).
A leap second (`:60`) is read as `:59`, since `datetime` has no 61st second. Digits are ASCII digits.

Not RFC 3339, and so refused: a time stamp without an offset (a local time of unknown zone), an offset
without its colon (`+0130`, ISO 8601's basic form), a comma as the decimal sign, an offset of 24 hours or
more, a second beyond 60. Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["parse_rfc3339"]

_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)


def parse_rfc3339(value: str) -> datetime:
    """Parse an RFC 3339 time stamp into an aware `datetime` with the offset it was written with.

    Surrounding whitespace is ignored. `.astimezone(timezone.utc)` gives UTC.

    Raises:
        ValueError: `value` is not a string, or not an RFC 3339 date-time (see the module docstring).
    """
    if not isinstance(value, str):
        raise ValueError(f"expected an RFC 3339 time stamp, got {type(value).__name__}")
    match = _RFC3339_RE.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"invalid RFC 3339 time stamp {value[:64]!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction = match.group(7) or ""
    microsecond = int((fraction + "000000")[:6])
    if match.group(8):
        tz = timezone.utc
    else:
        offset_hours, offset_minutes = int(match.group(10)), int(match.group(11))
        if offset_hours > 23 or offset_minutes > 59:
            raise ValueError(f"invalid RFC 3339 time stamp {value[:64]!r}: offset out of range")
        offset = timedelta(hours=offset_hours, minutes=offset_minutes)
        tz = timezone(-offset if match.group(9) == "-" else offset)
    if second > 60:
        raise ValueError(f"invalid RFC 3339 time stamp {value[:64]!r}")
    try:
        return datetime(year, month, day, hour, minute, min(second, 59), microsecond, tzinfo=tz)
    except ValueError:
        raise ValueError(f"invalid RFC 3339 time stamp {value[:64]!r}") from None
