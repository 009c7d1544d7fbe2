"""`create_app`: the aiohttp application of the emulator (routes, middleware, storage lifecycle)."""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from ._acr import AcrApi
from ._errors import api_version_header, error_middleware
from ._oci import MANIFEST_LIMIT, Authorizer, OciApi
from ._storage import Storage

__all__ = ["STORAGE_KEY", "AUTH_KEY", "create_app", "resolve_auth"]

STORAGE_KEY = web.AppKey("storage", Storage)
AUTH_KEY = web.AppKey("auth", object)


def resolve_auth(auth: Any) -> Authorizer:
    """None/False -> open mode; an `AuthConfig` -> `EmulatorAuth(config)`; else the object itself."""
    from .auth import AuthConfig, EmulatorAuth, OpenAuth

    if auth is None or auth is False:
        return OpenAuth()
    if isinstance(auth, AuthConfig):
        return EmulatorAuth(auth)
    if not callable(getattr(auth, "authorize", None)):
        raise TypeError("auth must be None, an AuthConfig, or an object with an async authorize() method")
    return auth  # type: ignore[no-any-return]


def create_app(
    data_dir: str | os.PathLike[str], *, auth: Any = None, strict_oci: bool = False
) -> web.Application:
    """Build the emulator's aiohttp application over the data directory `data_dir`.

    Args:
        data_dir: where blobs, upload files and the metadata database live (created if missing).
        auth: None for open mode, an `AuthConfig` for token auth, or any object with
            `async authorize(request, resource_type, resource_name, actions)` (and optionally
            `add_routes(app)`, which adds the token service).
        strict_oci: refuse what ACR accepts beyond the OCI spec (descriptors with `sizeInBytes` and
            no `size`); by default the emulator accepts what ACR accepts.

    Returns:
        The application; its storage is closed on app cleanup.
    """
    authorizer = resolve_auth(auth)
    storage = Storage(data_dir)
    # Bodies read whole (manifests, PATCH bodies) are capped here too; blob uploads are streamed.
    app = web.Application(middlewares=[error_middleware], client_max_size=MANIFEST_LIMIT + 1)
    app[STORAGE_KEY] = storage
    app[AUTH_KEY] = authorizer
    oci = OciApi(storage, authorizer, strict_oci=strict_oci)
    acr = AcrApi(oci)
    app.router.add_route("*", "/v2", oci.dispatch)
    app.router.add_route("*", "/v2/{tail:.*}", oci.dispatch)
    app.router.add_route("*", "/acr/v1/{tail:.*}", acr.dispatch)
    add_routes = getattr(authorizer, "add_routes", None)
    if callable(add_routes):
        add_routes(app)
    app.on_response_prepare.append(api_version_header)

    async def close_storage(_: web.Application) -> None:
        storage.close()

    app.on_cleanup.append(close_storage)
    return app
