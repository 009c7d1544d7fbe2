"""ACR models, enums and wire conversion (pure: no sockets)."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from containerregistry.protocol.acr import (
    DEFAULT_API_VERSION,
    ArtifactArchitecture,
    ArtifactManifestOrder,
    ArtifactManifestPlatform,
    ArtifactManifestProperties,
    ArtifactOperatingSystem,
    ArtifactTagOrder,
    ArtifactTagProperties,
    ContainerRegistryAudience,
    RepositoryProperties,
    changeable_attributes,
    changeable_update,
    parse_catalog,
    parse_delete_repository,
    parse_manifest_list,
    parse_manifest_response,
    parse_rfc3339,
    parse_tag_list,
    parse_tag_response,
)

UTC = timezone.utc
DIGEST = "sha256:" + "ab" * 32
CHILD = "sha256:" + "cd" * 32
LOCKS = {"deleteEnabled": True, "writeEnabled": False, "readEnabled": True, "listEnabled": False}


# -- time stamps -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-07-01T12:34:56Z", datetime(2021, 7, 1, 12, 34, 56, tzinfo=UTC)),
        (
            "2021-07-01T12:34:56.1234567Z",
            datetime(2021, 7, 1, 12, 34, 56, 123456, tzinfo=UTC),
        ),  # ACR's 7 digits
        ("2021-07-01T12:34:56.5Z", datetime(2021, 7, 1, 12, 34, 56, 500000, tzinfo=UTC)),
        ("2021-07-01t12:34:56z", datetime(2021, 7, 1, 12, 34, 56, tzinfo=UTC)),
        ("2021-07-01T12:34:56+02:00", datetime(2021, 7, 1, 10, 34, 56, tzinfo=UTC)),
        ("2021-07-01T12:34:56.25-01:30", datetime(2021, 7, 1, 14, 4, 56, 250000, tzinfo=UTC)),
        ("2021-07-01 12:34:56Z", datetime(2021, 7, 1, 12, 34, 56, tzinfo=UTC)),  # a space for the T
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)),  # leap second
    ],
)
def test_parse_rfc3339(text: str, expected: datetime) -> None:
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2021-13-01T00:00:00Z",
        "2021-07-01",
        "2021-07-01T25:00:00Z",
        "2021-07-01T12:34:56Zjunk",
        # Not RFC 3339 (section 5.6), so refused like in the OCI annotations (one parser):
        "2021-07-01 12:34:56",  # no offset: a local time of unknown zone
        "2021-07-01T12:34:56.25-0130",  # offset without its colon
    ],
)
def test_parse_rfc3339_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_rfc3339(text)


def test_parse_rfc3339_rejects_non_strings() -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(12345)  # type: ignore[arg-type]


# -- enums ---------------------------------------------------------------------------------------


def test_architecture_values_and_unknown_kept_as_plain_string() -> None:
    assert [a.value for a in ArtifactArchitecture] == [
        "386",
        "amd64",
        "arm",
        "arm64",
        "mips",
        "mipsle",
        "mips64",
        "mips64le",
        "ppc64",
        "ppc64le",
        "riscv64",
        "s390x",
        "wasm",
    ]
    assert ArtifactArchitecture.from_wire("amd64") is ArtifactArchitecture.AMD64
    assert ArtifactArchitecture.from_wire("ARM64") is ArtifactArchitecture.ARM64
    unknown = ArtifactArchitecture.from_wire("unknown")
    assert unknown == "unknown" and type(unknown) is str
    assert ArtifactArchitecture.AMD64 == "amd64"  # type: ignore[comparison-overlap]
    assert str(ArtifactArchitecture.I386) == "386" and f"{ArtifactArchitecture.I386}" == "386"


def test_operating_system_values_and_unknown() -> None:
    assert {o.value for o in ArtifactOperatingSystem} == {
        "aix",
        "android",
        "darwin",
        "dragonfly",
        "freebsd",
        "illumos",
        "ios",
        "js",
        "linux",
        "netbsd",
        "openbsd",
        "plan9",
        "solaris",
        "windows",
    }
    assert ArtifactOperatingSystem.from_wire("Linux") is ArtifactOperatingSystem.LINUX
    assert type(ArtifactOperatingSystem.from_wire("unknown")) is str


def test_order_enums() -> None:
    for order in (ArtifactManifestOrder, ArtifactTagOrder):
        assert order.NONE == "none"
        assert order.LAST_UPDATED_ON_DESCENDING == "timedesc"
        assert order.LAST_UPDATED_ON_ASCENDING == "timeasc"
        assert order("timedesc") is order.LAST_UPDATED_ON_DESCENDING
        with pytest.raises(ValueError):
            order("newest")


def test_audiences() -> None:
    assert ContainerRegistryAudience.AZURE_PUBLIC_CLOUD == "https://containerregistry.azure.net"
    assert ContainerRegistryAudience.AZURE_RESOURCE_MANAGER_PUBLIC_CLOUD == "https://management.azure.com"
    assert ContainerRegistryAudience.AZURE_RESOURCE_MANAGER_CHINA == "https://management.chinacloudapi.cn"
    assert (
        ContainerRegistryAudience.AZURE_RESOURCE_MANAGER_GOVERNMENT == "https://management.usgovcloudapi.net"
    )
    assert ContainerRegistryAudience.AZURE_CHINA == ContainerRegistryAudience.AZURE_RESOURCE_MANAGER_CHINA
    assert (
        ContainerRegistryAudience.AZURE_GOVERNMENT
        == ContainerRegistryAudience.AZURE_RESOURCE_MANAGER_GOVERNMENT
    )
    assert dict(ContainerRegistryAudience.AUTHORITY_HOSTS) == {
        "public": "login.microsoftonline.com",
        "china": "login.chinacloudapi.cn",
        "usgovernment": "login.microsoftonline.us",
    }
    doc = ContainerRegistryAudience.__doc__ or ""
    for host in ContainerRegistryAudience.AUTHORITY_HOSTS.values():
        assert host in doc
    assert DEFAULT_API_VERSION == "2021-07-01"


# -- models from the wire ------------------------------------------------------------------------------


def test_repository_properties_from_wire() -> None:
    props = RepositoryProperties._from_wire(
        {
            "registry": "myregistry.azurecr.io",
            "imageName": "library/hello-world",
            "createdTime": "2021-07-01T12:00:00.1234567Z",
            "lastUpdateTime": "2021-07-02T12:00:00Z",
            "manifestCount": 3,
            "tagCount": 2,
            "changeableAttributes": {**LOCKS, "teleportEnabled": False},
        }
    )
    assert props.name == "library/hello-world"
    assert props.registry_login_server == "myregistry.azurecr.io"
    assert props.created_on == datetime(2021, 7, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert props.last_updated_on == datetime(2021, 7, 2, 12, tzinfo=UTC)
    assert (props.manifest_count, props.tag_count) == (3, 2)
    assert (props.can_delete, props.can_write, props.can_read, props.can_list) == (True, False, True, False)
    assert props._to_wire() == LOCKS
    assert repr(props) == (
        "RepositoryProperties(name='library/hello-world', registry_login_server='myregistry.azurecr.io', "
        "created_on=2021-07-01T12:00:00.123456Z, last_updated_on=2021-07-02T12:00:00Z, manifest_count=3, "
        "tag_count=2, can_delete=True, can_write=False, can_read=True, can_list=False)"
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        props.name = "other"
    props.can_write = True  # the can_* stay assignable (the Azure SDK's read-modify-update)
    assert props._to_wire() == {**LOCKS, "writeEnabled": True}
    with pytest.raises(TypeError):
        props.can_read = "yes"  # type: ignore[assignment]


def test_manifest_properties_from_wire_index_with_unknown_platform() -> None:
    props = parse_manifest_response(
        {
            "registry": "r.example",
            "imageName": "app",
            "manifest": {
                "digest": DIGEST,
                "imageSize": 1234,
                "createdTime": "2021-07-01T00:00:00Z",
                "lastUpdateTime": "2021-07-01T00:00:01Z",
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "tags": ["latest", "v1"],
                "references": [
                    {"digest": CHILD, "architecture": "amd64", "os": "linux"},
                    {"digest": DIGEST, "architecture": "unknown", "os": "unknown"},
                ],
                "changeableAttributes": LOCKS,
            },
        }
    )
    assert (
        props.digest == DIGEST
        and props.repository_name == "app"
        and props.registry_login_server == "r.example"
    )
    assert props.size_in_bytes == 1234
    assert props.architecture is None and props.operating_system is None
    assert props.related_artifacts == [
        ArtifactManifestPlatform(CHILD, ArtifactArchitecture.AMD64, ArtifactOperatingSystem.LINUX),
        ArtifactManifestPlatform(DIGEST, "unknown", "unknown"),
    ]
    assert props.tags == ["latest", "v1"]
    assert props.media_type == "application/vnd.oci.image.index.v1+json"
    assert props.config_media_type is None
    assert props.fully_qualified_reference == f"r.example/app@{DIGEST}"
    assert "architecture='unknown'" in repr(props.related_artifacts[1])


def test_manifest_properties_from_wire_leaf() -> None:
    (props,) = parse_manifest_list(
        {
            "registry": "r.example",
            "imageName": "app",
            "manifests": [
                {
                    "digest": DIGEST,
                    "imageSize": 10,
                    "architecture": "arm64",
                    "os": "linux",
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "configMediaType": "application/vnd.oci.image.config.v1+json",
                }
            ],
        }
    )
    assert props.architecture is ArtifactArchitecture.ARM64
    assert props.operating_system is ArtifactOperatingSystem.LINUX
    assert props.related_artifacts == [] and props.tags == []
    assert props.config_media_type == "application/vnd.oci.image.config.v1+json"
    assert (props.can_delete, props.can_write) == (None, None)  # not sent: unknown, not False


def test_tag_properties_from_wire() -> None:
    tag = parse_tag_response(
        {
            "registry": "r.example",
            "imageName": "app",
            "tag": {
                "name": "v1",
                "digest": DIGEST,
                "createdTime": "2021-07-01T00:00:00.0000001Z",
                "lastUpdateTime": "2021-07-01T00:00:00Z",
                "signed": False,
                "changeableAttributes": LOCKS,
            },
        }
    )
    assert (tag.name, tag.digest, tag.repository_name, tag.registry_login_server) == (
        "v1",
        DIGEST,
        "app",
        "r.example",
    )
    assert tag.created_on == datetime(2021, 7, 1, tzinfo=UTC)
    assert tag._to_wire() == LOCKS
    tags = parse_tag_list(
        {"registry": "r", "imageName": "app", "tags": [{"name": "a"}, {"name": "b", "digest": DIGEST}]}
    )
    assert [t.name for t in tags] == ["a", "b"]
    assert parse_tag_list({"registry": "r", "imageName": "app"}) == []


def test_catalog_and_delete_result() -> None:
    assert parse_catalog({"repositories": ["a", "b/c"]}) == ["a", "b/c"]
    assert parse_catalog({}) == []
    assert parse_delete_repository({"manifestsDeleted": [DIGEST], "tagsDeleted": ["v1"]}) == (
        [DIGEST],
        ["v1"],
    )
    assert parse_delete_repository(None) == ([], [])


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (parse_catalog, ["not", "an", "object"]),
        (parse_catalog, {"repositories": "app"}),
        (parse_tag_list, {"tags": {"name": "v1"}}),
        (parse_tag_list, {"tags": [{"digest": DIGEST}]}),  # no name
        (parse_tag_response, {"tag": None}),
        (parse_tag_response, {"tag": {"name": "v1", "createdTime": "not a time"}}),
        (parse_tag_response, {"tag": {"name": "v1", "changeableAttributes": {"writeEnabled": "no"}}}),
        (parse_manifest_list, {"manifests": [{"digest": DIGEST, "imageSize": "big"}]}),
        (parse_manifest_response, {"manifest": {"imageSize": 1}}),  # no digest
        (
            parse_manifest_response,
            {"manifest": {"digest": DIGEST, "references": [{"architecture": "amd64"}]}},
        ),
        (parse_manifest_response, {"manifest": {"digest": DIGEST, "tags": [1, 2]}}),
        (parse_delete_repository, {"manifestsDeleted": "all"}),
    ],
)
def test_malformed_bodies_raise_value_error(parse: object, body: object) -> None:
    with pytest.raises(ValueError):
        parse(body)  # type: ignore[operator]


# -- updates ---------------------------------------------------------------------------------------


def test_changeable_attributes_only_what_is_given() -> None:
    assert changeable_attributes() == {}
    assert changeable_attributes(can_write=False) == {"writeEnabled": False}
    assert changeable_attributes(can_delete=True, can_list=False) == {
        "deleteEnabled": True,
        "listEnabled": False,
    }
    with pytest.raises(TypeError, match="can_read"):
        changeable_attributes(can_read="yes")  # type: ignore[arg-type]


def test_changeable_update_merges_properties_and_keywords() -> None:
    assert changeable_update(ArtifactTagProperties(can_write=False, can_delete=False)) == {
        "deleteEnabled": False,
        "writeEnabled": False,
    }
    assert changeable_update(ArtifactTagProperties(can_write=False), can_write=True, can_read=False) == {
        "writeEnabled": True,
        "readEnabled": False,
    }
    full = RepositoryProperties(name="app", can_delete=True, can_write=True, can_read=True, can_list=True)
    assert changeable_update(dataclasses.replace(full, can_write=False)) == {
        "deleteEnabled": True,
        "writeEnabled": False,
        "readEnabled": True,
        "listEnabled": True,
    }
    assert changeable_update(ArtifactManifestProperties(), can_list=False) == {"listEnabled": False}
    with pytest.raises(ValueError, match="nothing to update"):
        changeable_update()
    with pytest.raises(ValueError, match="nothing to update"):
        changeable_update(ArtifactTagProperties(name="v1"))
    with pytest.raises(TypeError, match="properties must be"):
        changeable_update({"can_write": False})


def test_models_built_by_users_have_readable_reprs() -> None:
    assert (
        repr(ArtifactTagProperties(can_write=False, can_delete=False))
        == "ArtifactTagProperties(can_delete=False, can_write=False)"
    )
    assert repr(ArtifactManifestPlatform(DIGEST)) == f"ArtifactManifestPlatform(digest={DIGEST!r})"
