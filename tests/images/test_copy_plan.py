"""plan_copy and the platform filter with plain tables: no sockets, no registry, no layout."""

from __future__ import annotations

import json

import pytest

from containerregistry.images._copy_plan import (
    MAX_DEPTH,
    CopyPlan,
    References,
    check_config_platform,
    choose_platforms,
    plan_copy,
)
from containerregistry.protocol.digest import compute_digest
from containerregistry.protocol.models import ManifestFormatError, OciDescriptor, Platform

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"


def d(name: str, media_type: str = MANIFEST, platform: str | None = None) -> OciDescriptor:
    """A descriptor `sha256:<name>` (names stand for digests: the plan never hashes them)."""
    p = None
    if platform is not None:
        os_name, arch = platform.split("/")
        p = Platform(architecture=arch, os=os_name)
    return OciDescriptor(media_type=media_type, digest=f"sha256:{name}", size=len(name), platform=p)


def refs(blobs: str = "", children: str = "") -> References:
    """References from space-separated names: blobs "c1 l1", children "a b"."""
    return References(tuple(d(b) for b in blobs.split()), tuple(d(c) for c in children.split()))


def plan(
    top: str,
    manifests: dict[str, References],
    referrers: dict[str, str] | None = None,
    *,
    include_referrers: bool = True,
) -> CopyPlan:
    lists = {f"sha256:{k}": [d(n) for n in v.split()] for k, v in (referrers or {}).items()}
    table = {f"sha256:{k}": v for k, v in manifests.items()}
    return plan_copy(d(top), table, lists, include_referrers=include_referrers, where="src")


def order(p: CopyPlan) -> list[str]:
    return [digest.removeprefix("sha256:") for digest in p.order]


def blobs(p: CopyPlan) -> list[str]:
    return [b.digest.removeprefix("sha256:") for b in p.blobs]


def referrers_of(p: CopyPlan) -> list[str]:
    return [k.removeprefix("sha256:") for k, m in p.manifests.items() if m.is_referrer]


# -- order and blobs ---------------------------------------------------------------------------------------


def test_a_single_image_is_its_manifest_and_its_blobs() -> None:
    p = plan("m", {"m": refs("c l1 l2")})
    assert (order(p), blobs(p), p.refusal) == (["m"], ["c", "l1", "l2"], None)


def test_children_come_before_their_index_and_shared_blobs_move_once() -> None:
    p = plan(
        "idx", {"idx": refs(children="amd arm"), "amd": refs("c1 shared a1"), "arm": refs("c2 shared b1")}
    )
    assert order(p) == ["amd", "arm", "idx"]
    assert blobs(p) == ["c1", "shared", "a1", "c2", "b1"]
    assert p.top.digest == "sha256:idx"


def test_an_index_of_indexes_writes_the_innermost_first_and_a_shared_child_once() -> None:
    manifests = {
        "top": refs(children="left right"),
        "left": refs(children="x y"),
        "right": refs(children="y z"),
        "x": refs("bx"),
        "y": refs("by"),
        "z": refs("bz"),
    }
    p = plan("top", manifests)
    assert order(p) == ["x", "y", "left", "z", "right", "top"]
    assert len(p.manifests) == 6


def test_a_child_named_twice_in_one_index_is_planned_once() -> None:
    p = plan("idx", {"idx": refs(children="a a"), "a": refs("b")})
    assert order(p) == ["a", "idx"]


@pytest.mark.parametrize(
    ("include", "expected_order", "expected_referrers"),
    [
        (True, ["a", "sig-a", "idx", "sig-idx", "sig-sig"], ["sig-a", "sig-idx", "sig-sig"]),
        (False, ["a", "idx"], []),
    ],
)
def test_subjects_come_before_their_referrers(
    include: bool, expected_order: list[str], expected_referrers: list[str]
) -> None:
    manifests = {
        "idx": refs(children="a"),
        "a": refs("la"),
        "sig-a": refs("s1"),
        "sig-idx": refs("s2"),
        "sig-sig": refs("s3"),
    }
    lists = {"idx": "sig-idx", "a": "sig-a", "sig-idx": "sig-sig", "sig-a": "", "sig-sig": ""}
    p = plan("idx", manifests, lists, include_referrers=include)
    assert order(p) == expected_order
    assert referrers_of(p) == expected_referrers
    assert ("s3" in blobs(p)) is include


def test_a_referrer_cycle_is_planned_once() -> None:
    # A signature whose referrers list names the image again (a hostile or confused registry).
    p = plan("m", {"m": refs("l"), "sig": refs("s")}, {"m": "sig", "sig": "m"})
    assert order(p) == ["m", "sig"]
    assert referrers_of(p) == ["sig"]


def test_the_plan_does_not_depend_on_the_order_of_the_tables() -> None:
    manifests = {"idx": refs(children="a b"), "a": refs("x"), "b": refs("y")}
    reordered = dict(reversed(list(manifests.items())))
    assert order(plan("idx", manifests)) == order(plan("idx", reordered)) == ["a", "b", "idx"]


# -- refusals -------------------------------------------------------------------------------------


def chain(levels: int) -> dict[str, References]:
    """An index of an index of ... `levels` manifests below the top one."""
    table = {f"i{n}": refs(children=f"i{n + 1}") for n in range(levels)}
    table[f"i{levels}"] = refs("leaf")
    return table


def test_manifests_nested_max_depth_levels_are_copied() -> None:
    p = plan("i0", chain(MAX_DEPTH))
    assert p.refusal is None and len(p.order) == MAX_DEPTH + 1
    p.check()


def test_deeper_nesting_is_refused_without_reading_the_level_below() -> None:
    table = chain(MAX_DEPTH + 1)
    del table[f"i{MAX_DEPTH + 1}"]  # the engine does not read a manifest below MAX_DEPTH levels
    p = plan("i0", table)
    assert p.refusal is not None and p.refusal.kind == "depth"
    assert (p.order, p.blobs) == ((), ())
    with pytest.raises(ManifestFormatError, match=f"src: manifests nest deeper than {MAX_DEPTH} levels"):
        p.check()


def test_referrers_count_as_a_level() -> None:
    table = chain(MAX_DEPTH)
    table["sig"] = refs("s")
    p = plan("i0", table, {f"i{MAX_DEPTH}": "sig"})
    assert p.refusal is not None and p.refusal.kind == "depth"
    assert plan("i0", table, {f"i{MAX_DEPTH}": "sig"}, include_referrers=False).refusal is None


# -- the platform filter ----------------------------------------------------------------------------


def index_of(*platforms: str) -> tuple[OciDescriptor, bytes]:
    entries = [
        {
            "mediaType": MANIFEST,
            "digest": f"sha256:{n:064x}",
            "size": 10,
            "platform": dict(zip(("os", "architecture"), p.split("/"), strict=True)),
        }
        for n, p in enumerate(platforms)
    ]
    content = json.dumps({"schemaVersion": 2, "mediaType": INDEX, "manifests": entries}, indent=2).encode()
    return OciDescriptor(media_type=INDEX, digest=compute_digest(content), size=len(content)), content


LINUX_ARM64 = [("linux", "arm64", None)]


def test_an_index_keeps_only_the_wanted_platforms_as_a_new_index() -> None:
    descriptor, content = index_of("linux/amd64", "linux/arm64", "linux/s390x")
    choice = choose_platforms(descriptor, content, LINUX_ARM64, "src")
    assert choice.filtered and choice.refusal is None and choice.config is None
    body = json.loads(choice.content)
    assert [m["platform"]["architecture"] for m in body["manifests"]] == ["arm64"]
    assert choice.descriptor.digest == compute_digest(choice.content) != descriptor.digest
    assert choice.descriptor.size == len(choice.content)


def test_an_index_whose_every_entry_is_wanted_stays_byte_for_byte() -> None:
    descriptor, content = index_of("linux/arm64", "linux/arm64")
    choice = choose_platforms(descriptor, content, LINUX_ARM64, "src")
    assert (choice.descriptor, choice.content, choice.filtered) == (descriptor, content, False)


def test_no_matching_platform_is_refused_naming_the_available_ones() -> None:
    descriptor, content = index_of("linux/amd64", "windows/amd64")
    choice = choose_platforms(descriptor, content, LINUX_ARM64, "src")
    assert choice.refusal is not None and choice.refusal.kind == "platform"
    with pytest.raises(
        ValueError, match=r"no manifest in src matches linux/arm64 \(available: linux/amd64, windows/amd64\)"
    ):
        choice.check()


def test_a_single_image_names_its_config_to_check() -> None:
    content = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": "sha256:" + "a" * 64, "size": 5},
            "layers": [],
        }
    ).encode()
    descriptor = OciDescriptor(media_type=MANIFEST, digest=compute_digest(content), size=len(content))
    choice = choose_platforms(descriptor, content, LINUX_ARM64, "src")
    assert choice.config is not None and choice.config.digest == "sha256:" + "a" * 64
    assert (choice.content, choice.filtered, choice.refusal) == (content, False, None)


@pytest.mark.parametrize(
    ("config", "refused"),
    [
        (b'{"os": "linux", "architecture": "arm64"}', False),
        (b'{"os": "linux", "architecture": "arm64", "variant": "v8"}', False),  # no variant wanted: any
        (b'{"os": "linux", "architecture": "amd64"}', True),
        (b'{"architecture": "amd64"}', False),  # no platform named: nothing to check
        (b"not json", False),
        (b"", False),  # a config too large to read is passed as empty
    ],
)
def test_a_single_images_config_platform(config: bytes, refused: bool) -> None:
    refusal = check_config_platform(config, LINUX_ARM64, "src")
    assert (refusal is not None) is refused
    if refusal is not None:
        assert refusal.message == "src is a single linux/amd64 image, not linux/arm64"
        assert isinstance(refusal.error(), ValueError)
