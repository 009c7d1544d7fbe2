"""ACR's wire values: the string enums of its metadata and its Entra ID audiences. Pure: no I/O.

The string enums compare equal to their wire values; `from_wire` returns the member for a known value
(case-insensitively) and the raw string for anything else, so an attestation manifest's architecture
`unknown` is kept, never an error. `protocol.acr`, whose models use them, re-exports every name.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from enum import Enum
from typing import TypeVar

__all__ = [
    "ArtifactArchitecture",
    "ArtifactManifestOrder",
    "ArtifactOperatingSystem",
    "ArtifactTagOrder",
    "ContainerRegistryAudience",
    "WireEnum",
]

_E = TypeVar("_E", bound="WireEnum")


class WireEnum(str, Enum):
    """A `str` enum whose `from_wire` keeps unknown values as plain strings (case-insensitive match)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)

    @classmethod
    def from_wire(cls: type[_E], value: str) -> _E | str:
        """The member whose value is `value` (ignoring case), else `value` itself, unchanged."""
        member = _lookup_table(cls).get(value.lower())
        return value if member is None else member


@functools.cache
def _lookup_table(enum: type[WireEnum]) -> dict[str, WireEnum]:
    return {member.value.lower(): member for member in enum}


class ArtifactArchitecture(WireEnum):
    """CPU architectures of images (Go's `GOARCH` names). Unknown values are kept as plain strings."""

    I386 = "386"
    AMD64 = "amd64"
    ARM = "arm"
    ARM64 = "arm64"
    MIPS = "mips"
    MIPSLE = "mipsle"  # the Azure SDK's names come first (they are the canonical ones in reprs)
    MIPS_LE = "mipsle"
    MIPS64 = "mips64"
    MIPS64LE = "mips64le"
    MIPS64_LE = "mips64le"
    PPC64 = "ppc64"
    PPC64LE = "ppc64le"
    PPC64_LE = "ppc64le"
    RISCV64 = "riscv64"
    S390X = "s390x"
    WASM = "wasm"


class ArtifactOperatingSystem(WireEnum):
    """Operating systems of images (Go's `GOOS` names). Unknown values are kept as plain strings."""

    AIX = "aix"
    ANDROID = "android"
    DARWIN = "darwin"
    DRAGONFLY = "dragonfly"
    FREEBSD = "freebsd"
    ILLUMOS = "illumos"
    IOS = "ios"
    JS = "js"
    LINUX = "linux"
    NETBSD = "netbsd"
    OPENBSD = "openbsd"
    PLAN9 = "plan9"
    SOLARIS = "solaris"
    WINDOWS = "windows"


class ArtifactManifestOrder(WireEnum):
    """Order of `list_manifest_properties` (by last update time)."""

    NONE = "none"
    LAST_UPDATED_ON_DESCENDING = "timedesc"
    LAST_UPDATED_ON_ASCENDING = "timeasc"


class ArtifactTagOrder(WireEnum):
    """Order of `list_tag_properties` (by last update time)."""

    NONE = "none"
    LAST_UPDATED_ON_DESCENDING = "timedesc"
    LAST_UPDATED_ON_ASCENDING = "timeasc"


class ContainerRegistryAudience:
    """Entra ID audiences an ACR accepts tokens for (pass one as `audience=`).

    The client asks its Entra ID credential for a token with scope `<audience>/.default` and exchanges
    it at the registry's `/oauth2/exchange`. The default, `AZURE_PUBLIC_CLOUD`
    (`https://containerregistry.azure.net`), is ACR's own audience. Registries in national clouds, and
    registries whose Azure Resource Manager audience token authentication is configured, take the Azure
    Resource Manager audience of their cloud.

    The credential must also sign in at its cloud's authority host (azure-identity's
    `authority=` / `AZURE_AUTHORITY_HOST`):

    - Azure public cloud: `AZURE_PUBLIC_CLOUD` or `AZURE_RESOURCE_MANAGER_PUBLIC_CLOUD`;
      authority host `login.microsoftonline.com` (azure-identity's default).
    - Azure China (21Vianet): `AZURE_CHINA` (= `AZURE_RESOURCE_MANAGER_CHINA`);
      authority host `login.chinacloudapi.cn`.
    - Azure US Government: `AZURE_GOVERNMENT` (= `AZURE_RESOURCE_MANAGER_GOVERNMENT`);
      authority host `login.microsoftonline.us`.

    Example::

        client = ContainerRegistryClient(
            "https://myregistry.azurecr.cn",
            DefaultAzureCredential(authority="login.chinacloudapi.cn"),
            audience=ContainerRegistryAudience.AZURE_CHINA,
        )
    """

    #: ACR's own audience (the default).
    AZURE_PUBLIC_CLOUD = "https://containerregistry.azure.net"
    #: Azure Resource Manager, public cloud.
    AZURE_RESOURCE_MANAGER_PUBLIC_CLOUD = "https://management.azure.com"
    #: Azure Resource Manager, Azure China.
    AZURE_RESOURCE_MANAGER_CHINA = "https://management.chinacloudapi.cn"
    #: Azure Resource Manager, Azure US Government.
    AZURE_RESOURCE_MANAGER_GOVERNMENT = "https://management.usgovcloudapi.net"
    #: The audience for registries in Azure China (its Azure Resource Manager audience).
    AZURE_CHINA = AZURE_RESOURCE_MANAGER_CHINA
    #: The audience for registries in Azure US Government (its Azure Resource Manager audience).
    AZURE_GOVERNMENT = AZURE_RESOURCE_MANAGER_GOVERNMENT

    #: Authority hosts (Entra ID sign-in) of each cloud, for reference.
    AUTHORITY_HOSTS: Mapping[str, str] = {
        "public": "login.microsoftonline.com",
        "china": "login.chinacloudapi.cn",
        "usgovernment": "login.microsoftonline.us",
    }
