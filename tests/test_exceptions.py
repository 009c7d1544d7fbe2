"""One error tree: every error the library raises on purpose is a `RegistryError` from `exceptions.py`.

What a user notices: `except RegistryError` catches a malformed manifest and a bad OCI layout, and the
classes are the same objects wherever they are imported from (so `except` works with any of them).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

import containerregistry
import containerregistry.aio.images as aio_images
import containerregistry.images as images
import containerregistry.protocol.models as models
from containerregistry import exceptions
from containerregistry.exceptions import (
    ImageLayoutError,
    ManifestFormatError,
    RegistryError,
    RegistryProtocolError,
    ServiceRequestError,
)
from containerregistry.protocol.media_types import OCI_MANIFEST
from containerregistry.protocol.models import OciImageManifest, parse_manifest


def test_a_malformed_manifest_is_caught_as_a_registry_error() -> None:
    content = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": 5, "layers": []}).encode()
    try:
        parse_manifest(content, OCI_MANIFEST)
    except RegistryError as exc:
        caught: RegistryError = exc
    else:
        pytest.fail("parse_manifest accepted a manifest whose config is a number")
    assert isinstance(caught, ManifestFormatError)
    assert "config" in str(caught)
    # It stays a ValueError, as it was: `except ValueError` written before keeps working.
    with pytest.raises(ValueError, match=r"config\.mediaType is required"):
        OciImageManifest.from_dict({"schemaVersion": 2, "config": {}, "layers": []})


def test_a_bad_layout_is_caught_as_a_registry_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="has no oci-layout file") as caught:
        images.OciLayout(tmp_path)
    assert isinstance(caught.value, ImageLayoutError) and isinstance(caught.value, ValueError)


def test_each_error_is_one_class_wherever_it_is_imported_from() -> None:
    assert (
        containerregistry.ManifestFormatError is models.ManifestFormatError is exceptions.ManifestFormatError
    )
    assert images.ImageLayoutError is aio_images.ImageLayoutError is exceptions.ImageLayoutError
    for name in ("ManifestFormatError", "ImageLayoutError", "RegistryProtocolError"):
        assert name in exceptions.__all__
        assert getattr(exceptions, name).__module__ == "containerregistry.exceptions"
        assert issubclass(getattr(exceptions, name), RegistryError)


def test_a_protocol_error_is_still_a_service_request_error() -> None:
    """Code written as `except ServiceRequestError` before RegistryProtocolError took over still catches it."""
    with pytest.raises(ServiceRequestError):
        raise RegistryProtocolError("list tags failed: the registry sent invalid JSON")
    # ...but a connection failure is not a protocol error.
    assert not issubclass(ServiceRequestError, RegistryProtocolError)


def test_moved_errors_pickle_as_themselves() -> None:
    for error in (
        ManifestFormatError("layers[0].digest is invalid"),
        ImageLayoutError("oci:x: no such directory"),
    ):
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and copy.args == error.args
