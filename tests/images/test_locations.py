"""parse_image_location: one parser for registry references and OCI layouts; the public surface."""

from __future__ import annotations

import pytest

from containerregistry import images
from containerregistry.aio import images as aimages
from containerregistry.exceptions import InvalidReferenceError
from containerregistry.images import LayoutLocation, RegistryLocation, parse_image_location

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("text", "expected", "endpoint"),
    [
        ("127.0.0.1:5000/app:1", ("127.0.0.1:5000", "app", "1", None), "http://127.0.0.1:5000"),
        (
            "myreg.azurecr.io/team/app",
            ("myreg.azurecr.io", "team/app", None, None),
            "https://myreg.azurecr.io",
        ),
        (f"localhost/app@{D}", ("localhost", "app", None, D), "http://localhost"),
        ("docker://ghcr.io/o/app:v2", ("ghcr.io", "o/app", "v2", None), "https://ghcr.io"),
        ("http://reg.internal:80/app:x", ("reg.internal:80", "app", "x", None), "http://reg.internal:80"),
        ("https://127.0.0.1:5000/app", ("127.0.0.1:5000", "app", None, None), "https://127.0.0.1:5000"),
    ],
)
def test_registry_locations(
    text: str, expected: tuple[str, str, str | None, str | None], endpoint: str
) -> None:
    location = parse_image_location(text)
    assert isinstance(location, RegistryLocation)
    assert (location.registry, location.repository, location.tag, location.digest) == expected
    assert location.endpoint == endpoint


@pytest.mark.parametrize(
    ("text", "path", "tag"),
    [
        ("oci:/tmp/layout", "/tmp/layout", None),
        ("oci:./out:1.0", "./out", "1.0"),
        ("oci:dir:example.com/app:v1", "dir", "example.com/app:v1"),  # ref.name grammar allows ':' and '/'
    ],
)
def test_layout_locations(text: str, path: str, tag: str | None) -> None:
    location = parse_image_location(text)
    assert location == LayoutLocation(path, tag)
    assert str(location) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("app:1", "names no registry"),
        ("oci:", "expected oci:DIR"),
        ("oci:dir:", "invalid OCI layout reference name"),
        ("oci:dir:../x", "invalid OCI layout reference name"),
        ("127.0.0.1:5000/App:1", "invalid repository name"),
        ("127.0.0.1:5000/app@sha256:../../x", "invalid digest"),
    ],
)
def test_bad_locations(text: str, message: str) -> None:
    with pytest.raises(InvalidReferenceError, match=message):
        parse_image_location(text)


def test_default_registry() -> None:
    location = parse_image_location("app:1", default_registry="127.0.0.1:5000")
    assert str(location) == "127.0.0.1:5000/app:1"


def test_platform_strings_are_checked(tmp_path: object) -> None:
    with pytest.raises(ValueError, match="expected os/architecture"):
        images.copy_image("oci:/nonexistent-x", "oci:/nonexistent-y", platforms=["amd64"])
    with pytest.raises(TypeError, match="list of strings"):
        images.copy_image("oci:/nonexistent-x", "oci:/nonexistent-y", platforms="linux/amd64")


def test_public_names_match() -> None:
    for name in images.__all__:  # the package loads its names on first use (PEP 562): bind them all
        getattr(images, name)
    public = {name for name in vars(images) if name.isidentifier() and not name.startswith("_")} - {
        "annotations"
    }
    assert set(images.__all__) == public
    assert images.__all__ == aimages.__all__ == sorted(images.__all__)
