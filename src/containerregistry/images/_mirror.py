"""Mirroring whole repositories, the pure half: tag selection (regex, semver, newest-N), sync configs, shards.

`mirror_repository` (in `images/_async/_mirror.py`) copies the tags of one repository that `TagFilter` selects,
skipping those whose target already has the same digest; `sync_mirrors` runs a `SyncConfig` (the
`creg sync` file) of several such jobs. Here: the models, `select_tags`, a small semantic-version
matcher, the config parser (JSON, or YAML when PyYAML is installed), and `in_shard`, the
deterministic split of jobs over N workers (a stable hash of the target repository, so every worker
agrees without talking to the others).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import RegistryError
from ..protocol.models import OciImageIndex, parse_manifest
from ._models import parse_platforms, platform_matches

__all__ = [
    "MirrorItem",
    "MirrorResult",
    "SyncConfig",
    "SyncConfigError",
    "SyncJob",
    "SyncReport",
    "TagFilter",
    "in_shard",
    "load_sync_config",
    "parse_shard",
    "select_tags",
]


class SyncConfigError(RegistryError, ValueError):
    """A sync config (or a tag filter, a shard) that cannot be used; the message says where."""


# -- semantic versions ----------------------------------------------------------------------------

_VERSION_RE = re.compile(
    r"^v?(?P<major>0|[1-9]\d*)(?:\.(?P<minor>0|[1-9]\d*))?(?:\.(?P<patch>0|[1-9]\d*))?"
    r"(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$"
)
_CONSTRAINT_RE = re.compile(r"^(>=|<=|!=|==|=|>|<|\^|~)?\s*(v?[0-9][0-9A-Za-z.+-]*|\*)$")


@dataclass(frozen=True, order=True)
class _Version:
    major: int
    minor: int
    patch: int
    release: bool  # a release sorts after its prereleases
    pre: tuple[tuple[int, int | str], ...]
    parts: int  # how many of major.minor.patch were written

    @classmethod
    def parse(cls, text: str) -> _Version | None:
        match = _VERSION_RE.match(text)
        if not match:
            return None
        pre_text = match.group("pre")
        pre: tuple[tuple[int, int | str], ...] = ()
        if pre_text:
            pre = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre_text.split("."))
        parts = 1 + (match.group("minor") is not None) + (match.group("patch") is not None)
        return cls(
            int(match.group("major")),
            int(match.group("minor") or 0),
            int(match.group("patch") or 0),
            not pre_text,
            pre,
            parts,
        )

    @property
    def triple(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)


def _upper_bound(op: str, bound: _Version) -> tuple[int, int, int]:
    if op == "^":
        if bound.major > 0 or bound.parts == 1:
            return (bound.major + 1, 0, 0)
        if bound.minor > 0 or bound.parts == 2:
            return (0, bound.minor + 1, 0)
        return (0, 0, bound.patch + 1)
    # ~: patch-level changes if a minor is given, else minor-level
    if bound.parts >= 2:
        return (bound.major, bound.minor + 1, 0)
    return (bound.major + 1, 0, 0)


def _satisfies_one(version: _Version, op: str, bound: _Version | None) -> bool:
    if bound is None:
        return True  # `*`
    if op in ("^", "~"):
        return bound.triple <= version.triple < _upper_bound(op, bound) and (version >= bound)
    if op in ("", "=", "=="):
        if bound.parts < 3:  # `=1.2` means 1.2.x
            return version.triple[: bound.parts] == bound.triple[: bound.parts]
        return version == bound
    key, other = (version.triple, version.release, version.pre), (bound.triple, bound.release, bound.pre)
    return {
        ">": key > other,
        ">=": key >= other,
        "<": key < other,
        "<=": key <= other,
        "!=": key != other,
    }[op]


def semver_matches(tag: str, constraint: str, *, prerelease: bool = False) -> bool:
    """Whether `tag` (`1.2.3`, `v1.2`, `1.2.3-rc.1`) satisfies `constraint`.

    Constraints: comparisons joined by spaces or commas (all must hold), alternatives by `||`:
    `>=1.20 <2`, `^1.4` (same major), `~1.4` (same minor), `=1.2` (any 1.2.x), `*`. Prereleases
    match only with `prerelease=True`. A tag that is not a version never matches.

    Raises:
        SyncConfigError: a malformed constraint.
    """
    version = _Version.parse(tag)
    if version is None or (not version.release and not prerelease):
        return False
    for alternative in constraint.split("||"):
        terms = [t for t in re.split(r"[\s,]+", alternative.strip()) if t]
        # `>= 1.2` written with a space: glue operators to their version.
        glued: list[str] = []
        for term in terms:
            if glued and re.fullmatch(r">=|<=|!=|==|=|>|<|\^|~", glued[-1]):
                glued[-1] += term
            else:
                glued.append(term)
        if not glued:
            raise SyncConfigError(f"semver constraint {constraint!r} has an empty alternative")
        ok = True
        for term in glued:
            match = _CONSTRAINT_RE.match(term)
            if not match:
                raise SyncConfigError(f"semver constraint {constraint!r}: cannot read {term!r}")
            op, text = match.group(1) or "", match.group(2)
            bound = None if text == "*" else _Version.parse(text)
            if text != "*" and bound is None:
                raise SyncConfigError(f"semver constraint {constraint!r}: {text!r} is not a version")
            if not _satisfies_one(version, op, bound):
                ok = False
                break
        if ok:
            return True
    return False


# -- tag selection --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TagFilter:
    """Which tags of a repository to mirror.

    Attributes:
        regex: keep tags that match it entirely (`re.fullmatch`).
        exclude: drop tags that match it entirely.
        semver: keep tags that are versions satisfying this constraint (see `semver_matches`).
        newest: then keep only this many: the highest versions when every remaining tag is a
            version, else the last ones in natural order (`v2` before `v10`).
        prerelease: let `semver` match prereleases (`1.2.0-rc.1`).
    """

    regex: str | None = None
    exclude: str | None = None
    semver: str | None = None
    newest: int | None = None
    prerelease: bool = False

    def __post_init__(self) -> None:
        for name in ("regex", "exclude"):
            pattern = getattr(self, name)
            if pattern is not None:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise SyncConfigError(
                        f"tags.{name} {pattern!r} is not a regular expression: {exc}"
                    ) from exc
        if self.semver is not None:
            semver_matches("0.0.0", self.semver)  # a malformed constraint fails now, not per tag
        if self.newest is not None and (not isinstance(self.newest, int) or self.newest < 1):
            raise SyncConfigError(f"tags.newest must be a positive integer, not {self.newest!r}")


def _natural_key(tag: str) -> list[tuple[int, int | str]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.findall(r"\d+|\D+", tag)]


def select_tags(tags: Iterable[str], tag_filter: TagFilter | None) -> list[str]:
    """The tags `tag_filter` keeps, in natural order (oldest version first); all of them without a filter.

    The referrers fallback tags (`sha256-<hex>`) are never selected: referrers travel with their image.
    """
    chosen = [t for t in dict.fromkeys(tags) if not re.fullmatch(r"sha(256|512)-[0-9a-f]{64,128}(\..*)?", t)]
    f = tag_filter or TagFilter()
    if f.regex is not None:
        chosen = [t for t in chosen if re.fullmatch(f.regex, t)]
    if f.exclude is not None:
        chosen = [t for t in chosen if not re.fullmatch(f.exclude, t)]
    if f.semver is not None:
        chosen = [t for t in chosen if semver_matches(t, f.semver, prerelease=f.prerelease)]
    versions = {t: _Version.parse(t) for t in chosen}
    if chosen and all(v is not None for v in versions.values()):
        chosen.sort(key=lambda t: (versions[t], t))
    else:
        chosen.sort(key=_natural_key)
    if f.newest is not None:
        chosen = chosen[-f.newest :]
    return chosen


def expected_digest(content: bytes, media_type: str | None, platforms: Sequence[str] | None) -> str | None:
    """The digest `copy_image(..., platforms=...)` gives the top manifest; None when it is the source's."""
    if not platforms:
        return None
    parsed = parse_manifest(content, media_type)
    if not isinstance(parsed, OciImageIndex):
        return None
    wanted = parse_platforms(platforms)
    chosen = [d for d in parsed.manifests if platform_matches(d.platform, wanted)]
    if not chosen or len(chosen) == len(parsed.manifests):
        return None
    from ..protocol.digest import compute_digest

    parsed.manifests = chosen
    return compute_digest(parsed.to_bytes())


# -- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MirrorItem:
    """One tag of a mirror run.

    Attributes:
        tag: the tag.
        source, target: full references (`host/repo:tag`).
        digest: the source manifest's digest (None when it could not be read).
        action: `copied`, `up-to-date` (the target has that digest, and its referrers when asked),
            `would copy` (dry run) or `failed`.
        error: why it failed.
        bytes_copied, blobs_copied: what moved.
    """

    tag: str
    source: str
    target: str
    digest: str | None
    action: str
    error: str | None = None
    bytes_copied: int = 0
    blobs_copied: int = 0


@dataclass(frozen=True)
class MirrorResult:
    """What `mirror_repository` did for one source repository."""

    source: str
    target: str
    items: list[MirrorItem] = field(default_factory=list)
    error: str | None = None  # the repository itself could not be listed

    def count(self, action: str) -> int:
        return sum(1 for item in self.items if item.action == action)

    @property
    def ok(self) -> bool:
        return self.error is None and self.count("failed") == 0


# -- sync configs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncJob:
    """One source repository mirrored to one target repository (a `sync` entry)."""

    source: str
    target: str
    tags: TagFilter = field(default_factory=TagFilter)
    platforms: list[str] | None = None
    referrers: bool = False


@dataclass(frozen=True)
class SyncConfig:
    """A parsed `creg sync` file: its jobs, and the defaults they were filled from."""

    jobs: list[SyncJob]
    concurrency: int = 4
    image_concurrency: int = 2


@dataclass(frozen=True)
class SyncReport:
    """What `sync_mirrors` did: one `MirrorResult` per job this shard ran."""

    results: list[MirrorResult]
    dry_run: bool = False
    shard: str | None = None
    jobs_total: int = 0

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def count(self, action: str) -> int:
        return sum(r.count(action) for r in self.results)


_JOB_KEYS = {"source", "target", "tags", "platforms", "referrers"}
_TAG_KEYS = {"regex", "exclude", "semver", "newest", "prerelease"}
_TOP_KEYS = {"defaults", "sync", "concurrency", "image_concurrency"}


def _tag_filter(value: Any, where: str) -> TagFilter:
    if value is None:
        return TagFilter()
    if isinstance(value, list):  # an explicit list of tags
        if not all(isinstance(t, str) for t in value):
            raise SyncConfigError(f"{where}: a tag list holds only strings")
        return TagFilter(regex="|".join(re.escape(t) for t in value) if value else "(?!)")
    if not isinstance(value, Mapping):
        raise SyncConfigError(
            f"{where}: expected a mapping (regex, exclude, semver, newest) or a list of tags"
        )
    unknown = set(value) - _TAG_KEYS
    if unknown:
        raise SyncConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("regex", "exclude", "semver"):
        if key in value and not isinstance(value[key], str):
            raise SyncConfigError(f"{where}.{key} must be a string")
    try:
        return TagFilter(
            regex=value.get("regex"),
            exclude=value.get("exclude"),
            semver=value.get("semver"),
            newest=value.get("newest"),
            prerelease=bool(value.get("prerelease", False)),
        )
    except SyncConfigError as exc:
        raise SyncConfigError(f"{where}: {exc}") from exc


def parse_sync_config(data: Any) -> SyncConfig:
    """A `SyncConfig` from the decoded file (see `load_sync_config` for the format)."""
    if not isinstance(data, Mapping):
        raise SyncConfigError("the sync config must be a mapping with a 'sync' list")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise SyncConfigError(f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, Mapping) or set(defaults) - (_JOB_KEYS - {"source", "target"}):
        raise SyncConfigError("'defaults' may hold only tags, platforms and referrers")
    entries = data.get("sync")
    if not isinstance(entries, list) or not entries:
        raise SyncConfigError("'sync' must be a non-empty list of {source, target} entries")
    jobs = []
    for number, entry in enumerate(entries):
        where = f"sync[{number}]"
        if not isinstance(entry, Mapping):
            raise SyncConfigError(f"{where}: expected a mapping")
        unknown = set(entry) - _JOB_KEYS
        if unknown:
            raise SyncConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        merged = {**defaults, **entry}
        for key in ("source", "target"):
            if not isinstance(merged.get(key), str) or not merged[key]:
                raise SyncConfigError(f"{where}.{key} must be a repository (host/repo)")
        platforms = merged.get("platforms")
        if platforms is not None:
            if not isinstance(platforms, list):
                raise SyncConfigError(f"{where}.platforms must be a list such as [linux/amd64]")
            try:
                parse_platforms(platforms)
            except (TypeError, ValueError) as exc:
                raise SyncConfigError(f"{where}.platforms: {exc}") from exc
        jobs.append(
            SyncJob(
                source=merged["source"],
                target=merged["target"],
                tags=_tag_filter(merged.get("tags"), f"{where}.tags"),
                platforms=list(platforms) if platforms else None,
                referrers=bool(merged.get("referrers", False)),
            )
        )
    concurrency = data.get("concurrency", 4)
    image_concurrency = data.get("image_concurrency", 2)
    for name, value in (("concurrency", concurrency), ("image_concurrency", image_concurrency)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 64:
            raise SyncConfigError(f"{name} must be an integer from 1 to 64")
    return SyncConfig(jobs=jobs, concurrency=concurrency, image_concurrency=image_concurrency)


def load_sync_config(path: str | Path) -> SyncConfig:
    """Read a sync file: JSON (`.json`), or YAML (`.yaml`/`.yml`, needs PyYAML: `pip install pyyaml`).

    Format::

        defaults: {referrers: true, platforms: [linux/amd64, linux/arm64]}
        concurrency: 4          # blobs at once per image
        image_concurrency: 2    # images (tags) at once
        sync:
          - source: docker.io/library/alpine
            target: myregistry.azurecr.io/mirror/alpine
            tags: {semver: ">=3.18", newest: 3}
          - source: ghcr.io/org/tool
            target: myregistry.azurecr.io/mirror/tool
            tags: {regex: "v\\\\d+\\\\.\\\\d+\\\\.\\\\d+", exclude: ".*-rc.*"}
            referrers: false

    Raises:
        SyncConfigError: unreadable or invalid (the message names the entry and key).
    """
    text = Path(path).read_text(encoding="utf-8")
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError as exc:
            raise SyncConfigError(
                f"{path}: reading YAML needs PyYAML (pip install 'containerregistry[yaml]'), or write the "
                "config as JSON"
            ) from exc
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SyncConfigError(f"{path}: not valid YAML: {exc}".splitlines()[0]) from exc
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise SyncConfigError(f"{path}: not valid JSON: {exc}") from exc
    try:
        return parse_sync_config(data)
    except SyncConfigError as exc:
        raise SyncConfigError(f"{path}: {exc}") from exc


# -- shards ---------------------------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (0 <= I < N) -> (I, N).

    Raises:
        SyncConfigError: anything else.
    """
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or int(match.group(2)) < 1 or int(match.group(1)) >= int(match.group(2)):
        raise SyncConfigError(f"shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/4")
    return int(match.group(1)), int(match.group(2))


def in_shard(job: SyncJob, index: int, count: int) -> bool:
    """Whether shard `index` of `count` runs `job`: a stable hash of its target (the same on every machine)."""
    key = hashlib.sha256(job.target.encode()).digest()
    return int.from_bytes(key[:8], "big") % count == index
