"""repo, tag, manifest, blob and referrers through CliRunner against the emulator (and Distribution)."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import OCI_MANIFEST, run_cli, unique


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def test_blob_push_exists_pull_rm(registry_emulator: Any, tmp_path: Path) -> None:
    r = registry_emulator.endpoint
    repo = unique("blobs")
    content = secrets.token_bytes(300_000)
    source = tmp_path / "layer.bin"
    source.write_bytes(content)
    digest = "sha256:" + hashlib.sha256(content).hexdigest()

    pushed = _json(run_cli("-r", r, "-o", "json", "blob", "push", repo, str(source)))
    assert pushed == {"digest": digest, "size": len(content), "repository": repo}
    assert run_cli("-r", r, "blob", "exists", f"{repo}@{digest}").stdout == "true\n"

    target = tmp_path / "out.bin"
    pulled = _json(run_cli("-r", r, "-o", "json", "blob", "pull", f"{repo}@{digest}", str(target)))
    assert pulled["size"] == len(content) and target.read_bytes() == content
    to_stdout = run_cli("-r", r, "blob", "pull", f"{repo}@{digest}", "-")
    assert to_stdout.exit_code == 0 and to_stdout.stdout_bytes == content

    assert run_cli("-r", r, "blob", "rm", f"{repo}@{digest}").exit_code == 0
    assert _json(run_cli("-r", r, "-o", "json", "blob", "exists", f"{repo}@{digest}"))["exists"] is False


def test_blob_pull_of_a_missing_blob_leaves_no_file(registry_emulator: Any, tmp_path: Path) -> None:
    target = tmp_path / "missing.bin"
    result = run_cli(
        "-r", registry_emulator.endpoint, "blob", "pull", f"nothing@sha256:{'a' * 64}", str(target)
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_manifest_put_get_ls_update_rm(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    r = registry_emulator.endpoint
    repo = unique("manifests")
    digest = push_manifest(r, repo, "v1")

    got = run_cli("-r", r, "manifest", "get", f"{repo}:v1")
    assert got.exit_code == 0
    # The exact bytes: their digest is the manifest's.
    assert "sha256:" + hashlib.sha256(got.stdout_bytes).hexdigest() == digest
    assert digest in got.stderr

    # Copy it under another tag through stdin: same bytes, same digest.
    again = run_cli("-r", r, "manifest", "put", f"{repo}:copy", "-", input=got.stdout_bytes)
    assert again.stdout.strip() == digest

    listed = _json(run_cli("-r", r, "-o", "json", "manifest", "ls", repo, "--order", "newest"))
    assert [m["digest"] for m in listed] == [digest]
    assert sorted(listed[0]["tags"]) == ["copy", "v1"]

    props = _json(run_cli("-r", r, "-o", "json", "manifest", "get", f"{repo}@{digest}", "--properties"))
    assert props["digest"] == digest and props["media_type"] == OCI_MANIFEST

    locked = _json(run_cli("-r", r, "-o", "json", "manifest", "update", f"{repo}:v1", "--no-delete"))
    assert locked["can_delete"] is False and locked["can_write"] is True  # only what was given changed
    refused = run_cli("-r", r, "manifest", "rm", f"{repo}@{digest}")
    assert refused.exit_code == 1 and "405" in refused.stderr

    assert run_cli("-r", r, "manifest", "update", f"{repo}@{digest}", "--delete").exit_code == 0
    removed = _json(run_cli("-r", r, "-o", "json", "manifest", "rm", f"{repo}:v1"))
    assert removed["deleted"] == digest
    assert run_cli("-r", r, "manifest", "get", f"{repo}:copy").exit_code == 1


def test_tag_ls_show_update_rm(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    r = registry_emulator.endpoint
    repo = unique("tags")
    first = push_manifest(r, repo, "a")
    second = push_manifest(r, repo, "b")

    newest = _json(run_cli("-r", r, "-o", "json", "tag", "ls", repo, "--order", "newest"))
    assert [(t["name"], t["digest"]) for t in newest] == [("b", second), ("a", first)]
    oldest = _json(run_cli("-r", r, "-o", "json", "tag", "ls", repo, "--order", "oldest"))
    assert [t["name"] for t in oldest] == ["a", "b"]
    # A full reference: its host is the registry, whatever --registry says.
    full = _json(
        run_cli(
            "-r", "http://127.0.0.1:9", "-o", "json", "tag", "ls", f"{registry_emulator.login_server}/{repo}"
        )
    )
    assert {t["name"] for t in full} == {"a", "b"}
    # The aliases of one image, anonymously (the seed's sample).
    aliases = _json(run_cli("-r", r, "--anonymous", "-o", "json", "tag", "ls", f"{repo}:a"))
    assert [t["name"] for t in aliases] == ["a"]
    plain = _json(run_cli("-r", r, "-o", "json", "tag", "ls", "--plain", repo))
    assert sorted(plain) == ["a", "b"]

    table = run_cli("-r", r, "tag", "ls", repo)
    assert table.exit_code == 0 and first in table.stdout and "┃" in table.stdout

    shown = _json(run_cli("-r", r, "-o", "json", "tag", "show", f"{repo}:a"))
    assert shown["digest"] == first

    locked = _json(run_cli("-r", r, "-o", "json", "tag", "update", f"{repo}:a", "--no-write", "--no-delete"))
    assert (locked["can_write"], locked["can_delete"], locked["can_read"]) == (False, False, True)
    refused = run_cli("-r", r, "tag", "rm", f"{repo}:a")
    assert refused.exit_code == 1
    assert (
        refused.stderr.startswith("error: ") and "405" in refused.stderr and "Traceback" not in refused.output
    )

    assert run_cli("-r", r, "tag", "update", f"{repo}:a", "--write", "--delete").exit_code == 0
    assert run_cli("-r", r, "tag", "rm", f"{repo}:a").exit_code == 0
    assert [t["name"] for t in _json(run_cli("-r", r, "-o", "json", "tag", "ls", repo))] == ["b"]


def test_repo_ls_show_update_rm(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    r = registry_emulator.endpoint
    repo = unique("repos")
    push_manifest(r, repo, "v1")

    assert repo in _json(run_cli("-r", r, "-o", "json", "repo", "ls"))
    assert repo in run_cli("-r", r, "repo", "ls").stdout

    shown = _json(run_cli("-r", r, "-o", "json", "repo", "show", repo))
    assert (shown["name"], shown["manifest_count"], shown["tag_count"]) == (repo, 1, 1)
    table = run_cli("-r", r, "repo", "show", repo)
    assert table.exit_code == 0 and "manifest_count" in table.stdout

    locked = _json(run_cli("-r", r, "-o", "json", "repo", "update", repo, "--no-delete"))
    assert locked["can_delete"] is False
    assert run_cli("-r", r, "repo", "rm", repo).exit_code == 1
    assert run_cli("-r", r, "repo", "update", repo, "--delete").exit_code == 0

    deleted = _json(run_cli("-r", r, "-o", "json", "repo", "rm", repo))
    assert len(deleted["deleted_manifests"]) == 1
    assert repo not in _json(run_cli("-r", r, "-o", "json", "repo", "ls"))


def test_referrers(registry_emulator: Any, push_manifest: Callable[..., str]) -> None:
    r = registry_emulator.endpoint
    repo = unique("referrers")
    subject = push_manifest(r, repo, "v1")
    assert _json(run_cli("-r", r, "-o", "json", "referrers", f"{repo}:v1")) == []

    empty = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    assert run_cli("-r", r, "blob", "push", repo, "-", input=b"{}").exit_code == 0
    signature = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": subject, "size": 10},
    }
    put = run_cli("-r", r, "manifest", "put", repo, "-", input=json.dumps(signature).encode())
    assert put.exit_code == 0, put.stderr
    listed = _json(run_cli("-r", r, "-o", "json", "referrers", f"{repo}@{subject}"))
    assert [(d["digest"], d["artifact_type"]) for d in listed] == [
        (put.stdout.strip(), "application/vnd.example.signature")
    ]
    other = _json(
        run_cli("-r", r, "-o", "json", "referrers", f"{repo}:v1", "--artifact-type", "application/x-none")
    )
    assert other == []


def test_blob_and_manifest_commands_on_distribution(
    distribution: Any, push_manifest: Callable[..., str]
) -> None:
    """The OCI commands work on a registry without the ACR metadata API."""
    repo = unique("dist")
    digest = push_manifest(distribution.endpoint, repo, "v1")
    got = run_cli("-r", distribution.endpoint, "manifest", "get", f"{repo}:v1")
    assert "sha256:" + hashlib.sha256(got.stdout_bytes).hexdigest() == digest
    assert _json(run_cli("-r", distribution.endpoint, "-o", "json", "tag", "ls", "--plain", repo)) == ["v1"]
    assert run_cli("-r", distribution.endpoint, "manifest", "rm", f"{repo}:v1").exit_code == 0
    assert run_cli("-r", distribution.endpoint, "manifest", "get", f"{repo}@{digest}").exit_code == 1
    # Deleting it again is reported as what it is, not as "deleted".
    again = run_cli("-r", distribution.endpoint, "manifest", "rm", f"{repo}@{digest}")
    assert again.exit_code == 1
    assert "nothing deleted" in again.stderr and "deleted manifest" not in again.stdout + again.stderr


def test_manifest_rm_of_an_absent_manifest_says_so(
    registry_emulator: Any, push_manifest: Callable[..., str]
) -> None:
    repo = unique("absent")
    r = registry_emulator.endpoint
    digest = push_manifest(r, repo, "v1")
    assert run_cli("-r", r, "manifest", "rm", f"{repo}@{digest}").exit_code == 0
    for reference in (f"{repo}@{digest}", f"{repo}:v1"):
        again = run_cli("-r", r, "manifest", "rm", reference)
        assert again.exit_code == 1, again.stdout
        assert "nothing deleted" in again.stderr and "Traceback" not in again.stderr


def test_prune_dry_run_says_skipped_locked_as_the_real_run(registry_emulator: Any, layout: Any) -> None:
    repo = unique("prunelock")
    endpoint = registry_emulator.endpoint
    assert run_cli("-r", endpoint, "push", f"oci:{layout.path}:{layout.tag}", f"{repo}:v1").exit_code == 0
    assert run_cli("-r", endpoint, "tag", "update", f"{repo}:v1", "--no-delete").exit_code == 0
    preview = run_cli("-r", endpoint, "-o", "plain", "prune", repo, "--keep", "0", "--dry-run")
    real = run_cli("-r", endpoint, "-o", "plain", "prune", repo, "--keep", "0")
    assert preview.exit_code == real.exit_code == 0, (preview.stderr, real.stderr)
    first = preview.stdout.splitlines()[0].split("\t")
    assert first[0] == "skipped (locked)" and first[1] == layout.digest
    assert f"creg tag update {repo}:v1 --delete --write" in first[4]
    assert "would delete" not in preview.stdout
    assert [line.split("\t")[:2] for line in preview.stdout.splitlines()] == [
        line.split("\t")[:2] for line in real.stdout.splitlines()
    ]
