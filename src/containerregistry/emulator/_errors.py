"""OCI error bodies and the middleware that guarantees every failure gets one."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

__all__ = [
    "DISALLOWED_MESSAGE",
    "DISK_FULL_ERRNOS",
    "OciError",
    "api_version_header",
    "disallowed",
    "error_middleware",
    "error_response",
]

_log = logging.getLogger("containerregistry.emulator")

# A full disk, a quota or a file size limit: the client should hear "no space", not "bug".
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})

DISALLOWED_MESSAGE = "The operation is disallowed on this registry, repository or image."

# Codes for statuses that aiohttp raises on its own (unknown route, method, body too large).
_STATUS_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "DENIED",
    404: "NOT_FOUND",
    405: "UNSUPPORTED",
    413: "SIZE_INVALID",
    416: "RANGE_INVALID",
    429: "TOOMANYREQUESTS",
    503: "UNAVAILABLE",
}


class OciError(Exception):
    """Raised by handlers; the middleware turns it into `{"errors":[{code,message,detail}]}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.headers = dict(headers or {})


def disallowed() -> OciError:
    """The 405 ACR answers for an operation blocked by a lock."""
    return OciError(405, "REGISTRY_DISALLOWED_OPERATION", DISALLOWED_MESSAGE)


def error_response(
    status: int, code: str, message: str, detail: Any = None, headers: Mapping[str, str] | None = None
) -> web.Response:
    """Build an OCI error response."""
    entry: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        entry["detail"] = detail
    return web.Response(
        status=status,
        body=json.dumps({"errors": [entry]}).encode(),
        content_type="application/json",
        headers=headers,
    )


def _sqlite_full(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    return code == 13 if code is not None else "full" in str(exc)  # 13 = SQLITE_FULL


_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """Give every error an OCI body; never leak a traceback (log it instead)."""
    try:
        return await handler(request)
    except OciError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.detail, exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            # Redirects, and errors that already carry an OCI body (the auth layer's 401/403).
            raise
        headers = {
            k: v for k, v in exc.headers.items() if k.lower() not in ("content-type", "content-length")
        }
        return error_response(
            exc.status,
            _STATUS_CODES.get(exc.status, "UNKNOWN"),
            exc.reason or "request failed",
            None,
            headers,
        )
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except sqlite3.OperationalError as exc:
        if _sqlite_full(exc):
            _log.warning("out of storage handling %s %s: %s", request.method, request.path, exc)
            return error_response(507, "UNAVAILABLE", "the registry is out of storage space")
        _log.exception("unexpected error handling %s %s", request.method, request.path)
        return error_response(500, "UNKNOWN", "internal error in the registry emulator")
    except OSError as exc:
        if exc.errno in DISK_FULL_ERRNOS:
            _log.warning("out of storage handling %s %s: %s", request.method, request.path, exc.strerror)
            return error_response(507, "UNAVAILABLE", "the registry is out of storage space")
        _log.exception("unexpected error handling %s %s", request.method, request.path)
        return error_response(500, "UNKNOWN", "internal error in the registry emulator")
    except Exception:
        _log.exception("unexpected error handling %s %s", request.method, request.path)
        return error_response(500, "UNKNOWN", "internal error in the registry emulator")


async def api_version_header(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare` hook: every response names the API version, like Distribution."""
    response.headers["Docker-Distribution-Api-Version"] = "registry/2.0"
