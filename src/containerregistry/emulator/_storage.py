"""Storage: content-addressed blobs on disk, metadata in SQLite (WAL).

Layout under the data directory::

    blobs/<algorithm>/<hex>   committed blobs (written to uploads/, fsynced, renamed into place)
    uploads/<uuid>            bytes of an upload session (the session row holds the committed offset)
    metadata.db               repositories, blob links, manifests (exact bytes), tags, upload sessions

Crash safety: a blob becomes visible only by an atomic rename of a fully written, fsynced file, and
only afterwards is it linked to a repository in the database; so a kill -9 leaves at worst an
unlinked file (harmless) or an upload file longer than its session's offset (truncated on resume).
Metadata changes are single SQLite transactions.

The read methods return frozen records (`RepositoryRecord`, `StoredManifest`, `TagRecord`,
`ChildRecord`, `UploadRecord`), never database rows. All methods are synchronous and cheap (indexed queries on a local database); the server calls them
on its event loop and does the heavy file work (hashing, fsync) in an executor.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..protocol.reference import validate_digest, validate_repository

__all__ = [
    "ATTRIBUTES",
    "Attributes",
    "UPLOAD_SESSION_DAYS",
    "ChildRecord",
    "ManifestRecord",
    "RepositoryRecord",
    "Storage",
    "StoredManifest",
    "TagRecord",
    "UploadRecord",
    "now",
]

UPLOAD_SESSION_DAYS = 7

# JSON name of each changeable attribute -> column name.
ATTRIBUTES = {
    "deleteEnabled": "delete_enabled",
    "writeEnabled": "write_enabled",
    "readEnabled": "read_enabled",
    "listEnabled": "list_enabled",
}
_FLAG_COLUMNS = ", ".join(f"{c} INTEGER NOT NULL DEFAULT 1" for c in ATTRIBUTES.values())

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS repositories (
    name TEXT PRIMARY KEY, created TEXT NOT NULL, updated TEXT NOT NULL, {_FLAG_COLUMNS});
CREATE TABLE IF NOT EXISTS repo_blobs (
    repo TEXT NOT NULL, digest TEXT NOT NULL, size INTEGER NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (repo, digest));
CREATE INDEX IF NOT EXISTS repo_blobs_digest ON repo_blobs (digest);
CREATE TABLE IF NOT EXISTS manifests (
    repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
    content BLOB NOT NULL, image_size INTEGER NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL,
    architecture TEXT, os TEXT, artifact_type TEXT, config_media_type TEXT, subject TEXT,
    annotations TEXT, {_FLAG_COLUMNS}, PRIMARY KEY (repo, digest));
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests (repo, subject);
CREATE TABLE IF NOT EXISTS manifest_refs (
    repo TEXT NOT NULL, digest TEXT NOT NULL, child TEXT NOT NULL, architecture TEXT, os TEXT,
    position INTEGER NOT NULL, PRIMARY KEY (repo, digest, position));
CREATE TABLE IF NOT EXISTS tags (
    repo TEXT NOT NULL, name TEXT NOT NULL, digest TEXT NOT NULL, created TEXT NOT NULL,
    updated TEXT NOT NULL, {_FLAG_COLUMNS}, PRIMARY KEY (repo, name));
CREATE INDEX IF NOT EXISTS tags_digest ON tags (repo, digest);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, repo TEXT NOT NULL, offset INTEGER NOT NULL, created TEXT NOT NULL);
"""


def now() -> str:
    """The current time, RFC 3339 in UTC with a `Z` (fixed width, so it sorts as text)."""
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class ManifestRecord:
    """What a manifest PUT stores (everything but the repository)."""

    digest: str
    media_type: str
    content: bytes
    image_size: int
    architecture: str | None = None
    os: str | None = None
    artifact_type: str | None = None
    config_media_type: str | None = None
    subject: str | None = None
    annotations: dict[str, Any] | None = None
    # (child digest, architecture, os) for an index.
    references: list[tuple[str, str | None, str | None]] = field(default_factory=list)


# -- records: what the read methods return (rows of the tables, as frozen values) ---------------------


@dataclass(frozen=True)
class Attributes:
    """The changeable attributes of a repository, manifest or tag (`ATTRIBUTES` maps their JSON names)."""

    delete_enabled: bool
    write_enabled: bool
    read_enabled: bool
    list_enabled: bool


@dataclass(frozen=True)
class RepositoryRecord(Attributes):
    """A row of `repositories`."""

    name: str
    created: str
    updated: str


@dataclass(frozen=True)
class StoredManifest(Attributes):
    """A row of `manifests`: a stored manifest, its exact bytes and what was read from it."""

    repo: str
    digest: str
    media_type: str
    size: int
    content: bytes
    image_size: int
    created: str
    updated: str
    architecture: str | None
    os: str | None
    artifact_type: str | None
    config_media_type: str | None
    subject: str | None
    annotations: str | None  # JSON text, as stored


@dataclass(frozen=True)
class TagRecord(Attributes):
    """A row of `tags`."""

    repo: str
    name: str
    digest: str
    created: str
    updated: str


@dataclass(frozen=True)
class ChildRecord:
    """A manifest an index references, with the platform the index gives it."""

    child: str
    architecture: str | None
    os: str | None


@dataclass(frozen=True)
class UploadRecord:
    """A row of `uploads`: an upload session and the offset its file holds committed bytes up to."""

    id: str
    repo: str
    offset: int
    created: str


_R = TypeVar("_R")
_FLAGS = frozenset(ATTRIBUTES.values())


def _record(cls: Callable[..., _R], row: sqlite3.Row) -> _R:
    values = dict(zip(row.keys(), tuple(row), strict=True))
    return cls(**{key: bool(value) if key in _FLAGS else value for key, value in values.items()})


def _maybe(cls: Callable[..., _R], row: sqlite3.Row | None) -> _R | None:
    return None if row is None else _record(cls, row)


class Storage:
    """Blob files and the metadata database of one data directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.blobs_dir = self.root / "blobs"
        self.uploads_dir = self.root / "uploads"
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self.blobs_dir.mkdir(parents=True, exist_ok=True)
        # One connection, used only from the event loop thread (check_same_thread off because the
        # loop may run in a different thread than the one that built the app).
        self.db = sqlite3.connect(
            self.root / "metadata.db", isolation_level=None, check_same_thread=False, timeout=30
        )
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a process crash (kill -9); only power loss may drop the newest commits.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.db.executescript(_SCHEMA)
        # Abandoned sessions would hold disk space forever; a week is far longer than any resume.
        cutoff = (_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(days=UPLOAD_SESSION_DAYS)).strftime(
            "%Y-%m-%dT%H:%M:%S.%fZ"
        )
        self.db.execute("DELETE FROM uploads WHERE created < ?", (cutoff,))
        self._remove_orphan_uploads()

    def close(self) -> None:
        self.db.close()

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _remove_orphan_uploads(self) -> None:
        # Files of single-request uploads interrupted by a crash, and sessions whose row never committed.
        known = {row["id"] for row in self.db.execute("SELECT id FROM uploads")}
        for entry in self.uploads_dir.iterdir():
            if entry.name not in known:
                entry.unlink(missing_ok=True)

    # -- paths ------------------------------------------------------------------------------------

    def blob_path(self, digest: str) -> Path:
        algorithm, _, encoded = validate_digest(digest).partition(":")
        return self.blobs_dir / algorithm / encoded

    def upload_path(self, upload_id: str) -> Path:
        return self.uploads_dir / upload_id

    # -- repositories -------------------------------------------------------------------------

    def get_repository(self, name: str) -> RepositoryRecord | None:
        row = self.db.execute("SELECT * FROM repositories WHERE name = ?", (name,)).fetchone()
        return _maybe(RepositoryRecord, row)

    def ensure_repository(self, name: str, when: str) -> None:
        validate_repository(name)
        self.db.execute(
            "INSERT INTO repositories (name, created, updated) VALUES (?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET updated = excluded.updated",
            (name, when, when),
        )

    def list_repositories(self, *, include_hidden: bool = False) -> list[str]:
        sql = "SELECT name FROM repositories"
        if not include_hidden:
            sql += " WHERE list_enabled = 1"
        return [row["name"] for row in self.db.execute(sql + " ORDER BY name")]

    def repository_counts(self, name: str) -> tuple[int, int]:
        manifests = self.db.execute("SELECT COUNT(*) FROM manifests WHERE repo = ?", (name,)).fetchone()[0]
        tags = self.db.execute("SELECT COUNT(*) FROM tags WHERE repo = ?", (name,)).fetchone()[0]
        return int(manifests), int(tags)

    def delete_repository(self, name: str) -> tuple[list[str], list[str], list[str]]:
        """Remove a repository; returns (manifest digests, tag names, blob digests no longer linked anywhere)."""
        with self.transaction() as db:
            manifests = [
                r["digest"] for r in db.execute("SELECT digest FROM manifests WHERE repo = ?", (name,))
            ]
            tags = [
                r["name"] for r in db.execute("SELECT name FROM tags WHERE repo = ? ORDER BY name", (name,))
            ]
            blobs = [r["digest"] for r in db.execute("SELECT digest FROM repo_blobs WHERE repo = ?", (name,))]
            for table in ("manifests", "manifest_refs", "tags", "repo_blobs"):
                db.execute(f"DELETE FROM {table} WHERE repo = ?", (name,))
            db.execute("DELETE FROM repositories WHERE name = ?", (name,))
            orphans = [d for d in blobs if not self._blob_linked_anywhere(d)]
        return manifests, tags, orphans

    def set_attributes(
        self, table: str, where: dict[str, str], attributes: dict[str, bool], when: str
    ) -> None:
        """Partial update of changeable attributes (JSON names) of one row of `table`."""
        assert table in ("repositories", "manifests", "tags")
        sets = [f"{ATTRIBUTES[k]} = ?" for k in attributes]
        values: list[Any] = [int(v) for v in attributes.values()]
        sets.append("updated = ?")
        values.append(when)
        clause = " AND ".join(f"{k} = ?" for k in where)
        self.db.execute(f"UPDATE {table} SET {', '.join(sets)} WHERE {clause}", (*values, *where.values()))

    # -- blobs ------------------------------------------------------------------------------------

    def blob_size(self, repo: str, digest: str) -> int | None:
        """Size of a blob linked to `repo`, or None."""
        row = self.db.execute(
            "SELECT size FROM repo_blobs WHERE repo = ? AND digest = ?", (repo, digest)
        ).fetchone()
        return None if row is None else int(row["size"])

    def link_blob(self, repo: str, digest: str, size: int) -> None:
        when = now()
        with self.transaction() as db:
            self.ensure_repository(repo, when)
            db.execute(
                "INSERT OR IGNORE INTO repo_blobs (repo, digest, size, created) VALUES (?, ?, ?, ?)",
                (repo, digest, size, when),
            )

    def unlink_blob(self, repo: str, digest: str) -> tuple[bool, bool]:
        """Remove a repository's link; returns (was linked, no repository links it any more)."""
        with self.transaction() as db:
            cursor = db.execute("DELETE FROM repo_blobs WHERE repo = ? AND digest = ?", (repo, digest))
            return cursor.rowcount > 0, not self._blob_linked_anywhere(digest)

    def _blob_linked_anywhere(self, digest: str) -> bool:
        return (
            self.db.execute("SELECT 1 FROM repo_blobs WHERE digest = ? LIMIT 1", (digest,)).fetchone()
            is not None
        )

    def blob_linked_anywhere(self, digest: str) -> bool:
        return self._blob_linked_anywhere(digest)

    # -- manifests ----------------------------------------------------------------------------

    def get_manifest(self, repo: str, digest: str) -> StoredManifest | None:
        row = self.db.execute(
            "SELECT * FROM manifests WHERE repo = ? AND digest = ?", (repo, digest)
        ).fetchone()
        return _maybe(StoredManifest, row)

    def get_tag(self, repo: str, tag: str) -> TagRecord | None:
        row = self.db.execute("SELECT * FROM tags WHERE repo = ? AND name = ?", (repo, tag)).fetchone()
        return _maybe(TagRecord, row)

    def put_manifest(self, repo: str, record: ManifestRecord, tag: str | None) -> None:
        when = now()
        with self.transaction() as db:
            self.ensure_repository(repo, when)
            existing = self.get_manifest(repo, record.digest)
            if existing is None:
                db.execute(
                    "INSERT INTO manifests (repo, digest, media_type, size, content, image_size, created, updated,"
                    " architecture, os, artifact_type, config_media_type, subject, annotations)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        repo,
                        record.digest,
                        record.media_type,
                        len(record.content),
                        record.content,
                        record.image_size,
                        when,
                        when,
                        record.architecture,
                        record.os,
                        record.artifact_type,
                        record.config_media_type,
                        record.subject,
                        json.dumps(record.annotations) if record.annotations else None,
                    ),
                )
                db.executemany(
                    "INSERT INTO manifest_refs (repo, digest, child, architecture, os, position)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(repo, record.digest, c, a, o, i) for i, (c, a, o) in enumerate(record.references)],
                )
            else:
                # Same digest = same bytes; a re-push may carry another media type header only
                # when the body has no mediaType field, and the newest one wins, like Distribution.
                db.execute(
                    "UPDATE manifests SET media_type = ?, updated = ? WHERE repo = ? AND digest = ?",
                    (record.media_type, when, repo, record.digest),
                )
            if tag is not None:
                db.execute(
                    "INSERT INTO tags (repo, name, digest, created, updated) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT(repo, name) DO UPDATE SET digest = excluded.digest, updated = excluded.updated",
                    (repo, tag, record.digest, when, when),
                )

    def delete_manifest(self, repo: str, digest: str) -> list[str]:
        """Delete a manifest and the tags pointing to it; returns the tag names removed."""
        with self.transaction() as db:
            tags = [
                r["name"]
                for r in db.execute("SELECT name FROM tags WHERE repo = ? AND digest = ?", (repo, digest))
            ]
            db.execute("DELETE FROM tags WHERE repo = ? AND digest = ?", (repo, digest))
            db.execute("DELETE FROM manifest_refs WHERE repo = ? AND digest = ?", (repo, digest))
            db.execute("DELETE FROM manifests WHERE repo = ? AND digest = ?", (repo, digest))
            db.execute("UPDATE repositories SET updated = ? WHERE name = ?", (now(), repo))
        return tags

    def delete_tag(self, repo: str, tag: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM tags WHERE repo = ? AND name = ?", (repo, tag))
            db.execute("UPDATE repositories SET updated = ? WHERE name = ?", (now(), repo))

    def tags(self, repo: str, *, digest: str | None = None, include_hidden: bool = True) -> list[TagRecord]:
        sql = "SELECT * FROM tags WHERE repo = ?"
        args: list[Any] = [repo]
        if digest is not None:
            sql += " AND digest = ?"
            args.append(digest)
        if not include_hidden:
            sql += " AND list_enabled = 1"
        return [_record(TagRecord, row) for row in self.db.execute(sql + " ORDER BY name", args)]

    def manifests(self, repo: str, *, include_hidden: bool = True) -> list[StoredManifest]:
        sql = "SELECT * FROM manifests WHERE repo = ?"
        if not include_hidden:
            sql += " AND list_enabled = 1"
        return [_record(StoredManifest, row) for row in self.db.execute(sql + " ORDER BY digest", (repo,))]

    def tag_names_by_digest(self, repo: str) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for row in self.db.execute("SELECT name, digest FROM tags WHERE repo = ? ORDER BY name", (repo,)):
            result.setdefault(row["digest"], []).append(row["name"])
        return result

    def references(self, repo: str, digest: str) -> list[ChildRecord]:
        return [
            _record(ChildRecord, row)
            for row in self.db.execute(
                "SELECT child, architecture, os FROM manifest_refs WHERE repo = ? AND digest = ? ORDER BY position",
                (repo, digest),
            )
        ]

    def referrers(self, repo: str, subject: str) -> list[StoredManifest]:
        return [
            _record(StoredManifest, row)
            for row in self.db.execute(
                "SELECT * FROM manifests WHERE repo = ? AND subject = ? ORDER BY digest", (repo, subject)
            )
        ]

    # -- upload sessions ----------------------------------------------------------------------

    def create_upload(self, upload_id: str, repo: str) -> None:
        # The file exists before the row commits, so a crash never leaves a row without a file.
        self.upload_path(upload_id).touch()
        self.db.execute(
            "INSERT INTO uploads (id, repo, offset, created) VALUES (?, ?, 0, ?)", (upload_id, repo, now())
        )

    def get_upload(self, upload_id: str) -> UploadRecord | None:
        row = self.db.execute("SELECT * FROM uploads WHERE id = ?", (upload_id,)).fetchone()
        return _maybe(UploadRecord, row)

    def set_upload_offset(self, upload_id: str, offset: int) -> None:
        self.db.execute("UPDATE uploads SET offset = ? WHERE id = ?", (offset, upload_id))

    def delete_upload(self, upload_id: str) -> None:
        # Row first: a crash in between leaves an orphan file, which startup removes.
        self.db.execute("DELETE FROM uploads WHERE id = ?", (upload_id,))
        self.upload_path(upload_id).unlink(missing_ok=True)

    def uploads(self) -> list[UploadRecord]:
        return [_record(UploadRecord, row) for row in self.db.execute("SELECT * FROM uploads")]
