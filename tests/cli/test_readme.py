"""README.md as a newcomer runs it: every Python and shell code block, in the order written, against
the emulator; the CLI section names every command; the migration table's creg commands exist.

How blocks run:
- Python blocks share one namespace, in one subprocess, in a temporary directory; a block with a
  top-level `await` / `async with` / `async for` runs inside `asyncio.run` (compiled with
  `PyCF_ALLOW_TOP_LEVEL_AWAIT`). `REGISTRY_ENDPOINT` is the emulator (the README's first block reads it).
- Shell blocks run with `bash -euo pipefail` in the same directory, `creg` on PATH, `CREG_REGISTRY`
  set to the emulator and the default address `127.0.0.1:5000` replaced by the emulator's; a line
  that starts `creg serve` is left out (the test's emulator already serves), and `$PASSWORD` is set.
- A block preceded by `<!-- not-run: REASON -->` is skipped; REASON must be one of `_ALLOWED_REASONS`
  (a real Azure registry, installing software, the whole suite, or a server that runs until Ctrl-C).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from containerregistry._sync import ContainerRegistryContentClient
from containerregistry.cli import cli

from .conftest import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"
_ALLOWED_REASONS = {
    "needs Azure",
    "installs software",
    "runs the whole test suite itself",
    "serves until Ctrl-C",
}
_BLOCK_RE = re.compile(
    r"(?:<!-- not-run: (?P<reason>[^>]*?) -->\n)?```(?P<lang>python|sh)\n(?P<body>.*?)\n```", re.DOTALL
)

_RUNNER = r"""
import ast, asyncio, inspect, json, sys
blocks = json.load(open(sys.argv[1]))
namespace = {"__name__": "__readme__"}
for number, source in blocks:
    print(f"--- block {number}", file=sys.stderr, flush=True)
    code = compile(source, f"README block {number}", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(code, namespace)
    if inspect.iscoroutine(result):
        asyncio.run(result)
"""


def _blocks() -> list[tuple[int, str, str, str | None]]:
    text = README.read_text(encoding="utf-8")
    found = []
    for match in _BLOCK_RE.finditer(text):
        line = text.count("\n", 0, match.start("body"))
        found.append((line, match.group("lang"), match.group("body"), match.group("reason")))
    return found


def _seed(endpoint: str) -> None:
    """What the samples expect, as the examples' embedded emulator holds it: library/hello-world with
    `v1`, and `latest` + `v2` on a newer image."""
    with ContainerRegistryContentClient(endpoint, "library/hello-world") as client:
        for tags, n in ((["v1"], 1), (["latest", "v2"], 2)):
            config = client.upload_blob(json.dumps({"architecture": "amd64", "os": "linux", "n": n}).encode())
            layer = client.upload_blob(os.urandom(500))
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": config.digest,
                    "size": config.size,
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": layer.digest,
                        "size": layer.size,
                    }
                ],
            }
            for tag in tags:
                client.set_manifest(json.dumps(manifest).encode(), tag=tag)


def test_not_run_blocks_are_few_and_have_an_allowed_reason() -> None:
    blocks = _blocks()
    skipped = [(line, reason) for line, _, _, reason in blocks if reason is not None]
    assert all(reason in _ALLOWED_REASONS for _, reason in skipped), skipped
    assert len(skipped) <= 5, skipped
    assert sum(1 for _, lang, _, reason in blocks if reason is None and lang == "python") >= 10
    assert sum(1 for _, lang, _, reason in blocks if reason is None and lang == "sh") >= 1


def test_every_block_runs_in_order(
    registry_emulator_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = registry_emulator_factory()  # its own: the samples delete what is not among the newest three
    _seed(registry.endpoint)
    work = tmp_path / "work"
    work.mkdir()
    docker = tmp_path / "docker"
    docker.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "CREG_"))},
        "REGISTRY_ENDPOINT": registry.endpoint,
        "CREG_REGISTRY": registry.endpoint,
        "DOCKER_CONFIG": str(docker),
        "PASSWORD": "readme-password",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    python = [(line, body) for line, lang, body, reason in _blocks() if lang == "python" and reason is None]
    (tmp_path / "blocks.json").write_text(json.dumps(python))
    (tmp_path / "runner.py").write_text(_RUNNER)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / "blocks.json")],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "locked: 405" in done.stdout  # the lock sample showed the lock, then lifted it
    shells = [(line, body) for line, lang, body, reason in _blocks() if lang == "sh" and reason is None]
    for line, body in shells:
        script = "\n".join(
            row.replace("127.0.0.1:5000", registry.login_server)
            for row in body.splitlines()
            if not row.lstrip().startswith("creg serve")
        )
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert ran.returncode == 0, (line, ran.stderr[-3000:])


def _commands(group: Any, prefix: str = "") -> list[str]:
    # Through click's lookup, not `group.commands`: commands are registered lazily (cli/_lazy.py).
    ctx = click.Context(group)
    names = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            names += _commands(command, f"{full} ")
        else:
            names.append(full)
    return names


def test_the_cli_section_shows_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## The CLI") : text.index("### Coming from crane")]
    missing = [name for name in _commands(cli) if not re.search(rf"\bcreg {re.escape(name)}\b", section)]
    assert missing == [], f"README's CLI section lacks an example of: {missing}"


def test_every_creg_command_of_the_migration_table_exists() -> None:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("### Coming from crane") : text.index("## The emulator")]
    known = _commands(cli)
    used = re.findall(r"`creg (?:-r R )?([a-z]+(?: [a-z]+)?)", table)
    assert used
    for words in used:
        assert words in known or words.split()[0] in known, words
        result = run_cli(*words.split()[:2] if words in known else words.split()[:1], "--help")
        assert result.exit_code == 0, words
