"""scripts/unasync.py: the substitutions make a sync twin, and a substitution no source uses is an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import unasync


def _tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[Path, Path]:
    """One async source under a fake root; formatting by ruff is skipped (it is not under test)."""
    src = tmp_path / "src" / "containerregistry" / "aio" / "_thing.py"
    dst = tmp_path / "src" / "containerregistry" / "_sync" / "_thing.py"
    src.parent.mkdir(parents=True)
    src.write_text(text)
    monkeypatch.setattr(unasync, "ROOT", tmp_path)
    monkeypatch.setattr(unasync, "PACKAGE", tmp_path / "src" / "containerregistry")
    monkeypatch.setattr(unasync, "sources", lambda: [(src, dst)])
    monkeypatch.setattr(unasync, "FOLDERS", {"aio": ("_sync", [])})
    monkeypatch.setattr(unasync, "polish", lambda text, target: text)
    return src, dst


def test_transform_maps_the_async_names() -> None:
    text = "async def f(x: AsyncIterator[bytes]) -> Awaitable[AsyncPipeline]:\n    await asyncio.sleep(1)\n"
    out = unasync.transform(text, unasync.PACKAGE / "aio" / "_x.py")
    assert out.endswith("def f(x: Iterator[bytes]) -> Pipeline:\n    time.sleep(1)\n")
    assert "generated from containerregistry/aio/_x.py" in out


def test_every_substitution_is_used_by_the_real_sources() -> None:
    used: dict[str, int] = {}
    for src, _dst in unasync.sources():
        unasync.transform(src.read_text(), src, used)
    dead = [p for p, _ in unasync.SUBSTITUTIONS if not used.get(p) and p not in unasync.KEPT_UNUSED]
    assert dead == []
    # The new modules of the content client are mapped like every other aio/ module.
    targets = {dst.name for _src, dst in unasync.sources()}
    assert {"_content_client.py", "_blob_upload.py", "_blob_stream.py"} <= targets


def test_every_async_source_folder_is_mapped() -> None:
    """A folder of async sources (`aio/`, `*/_async/`) that the script does not map would never get a twin."""
    folders = {
        path.relative_to(unasync.PACKAGE).as_posix()
        for path in unasync.PACKAGE.rglob("*")
        if path.is_dir() and path.name in {"aio", "_async"}
    }
    assert folders == set(unasync.FOLDERS)
    pairs = {
        (src.relative_to(unasync.PACKAGE).as_posix(), dst.relative_to(unasync.PACKAGE).as_posix())
        for src, dst in unasync.sources()
    }
    # The whole-image engines: async source in images/_async/, sync twin generated into images/_sync/.
    for name in (
        "_copy",
        "_copier",
        "_stores",
        "_prune",
        "_mirror",
        "_archives",
        "_inspect",
        "_artifacts_oras",
    ):
        assert (f"images/_async/{name}.py", f"images/_sync/{name}.py") in pairs
    assert not any(src.startswith("aio/") and dst.startswith("images/") for src, dst in pairs)


def test_the_image_engines_import_the_sync_clients_in_their_twin() -> None:
    source = unasync.PACKAGE / "images" / "_async" / "_x.py"
    text = "from ...aio._content_client import C\nfrom ..._common import X\nfrom .._models import M\n"
    out = unasync.transform(text, source)
    assert out.endswith(
        "from ..._sync._content_client import C\nfrom ..._common import X\nfrom .._models import M\n"
    )
    # The folder's own rule applies to its folder only.
    assert "from ...aio._content_client" in unasync.transform(text, unasync.PACKAGE / "aio" / "_x.py")


@pytest.mark.parametrize("check", [True, False])
def test_a_generated_file_whose_source_is_gone_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], check: bool
) -> None:
    package = tmp_path / "src" / "containerregistry"
    for folder in ("aio", "_sync"):
        (package / folder).mkdir(parents=True)
    (package / "aio" / "_kept.py").write_text("async def f() -> None:\n    await g()\n")
    hand_written = package / "_sync" / "_mine.py"
    hand_written.write_text('"""Hand-written."""\n')
    monkeypatch.setattr(unasync, "ROOT", tmp_path)
    monkeypatch.setattr(unasync, "PACKAGE", package)
    monkeypatch.setattr(unasync, "FOLDERS", {"aio": ("_sync", [])})
    monkeypatch.setattr(unasync, "FILES", {})
    monkeypatch.setattr(unasync, "SUBSTITUTIONS", [(r"\basync def\b", "def"), (r"\bawait\s+", "")])
    monkeypatch.setattr(unasync, "polish", lambda text, target: text)
    assert unasync.main([]) == 0  # writes _sync/_kept.py; a hand-written file is no orphan
    assert unasync.main(["--check"]) == 0
    capsys.readouterr()
    # The source moved away, its old twin stayed behind.
    orphan = package / "_sync" / "_moved_away.py"
    orphan.write_text(
        "# This file is generated from containerregistry/aio/_moved_away.py by scripts/unasync.py.\n"
    )
    assert unasync.main(["--check"] if check else []) == 1
    out = capsys.readouterr().out
    assert "src/containerregistry/_sync/_moved_away.py is generated, but its async source is gone" in out
    assert orphan.exists() and hand_written.exists()  # reported, never deleted
    assert (package / "_sync" / "_kept.py").exists()


@pytest.mark.parametrize("check", [True, False])
def test_a_dead_substitution_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], check: bool
) -> None:
    _tree(tmp_path, monkeypatch, "async def f() -> None:\n    await g()\n")
    monkeypatch.setattr(unasync, "SUBSTITUTIONS", [*unasync.SUBSTITUTIONS, (r"\bno_source_has_this\b", "x")])
    assert unasync.main(["--check"] if check else []) == 1
    assert "no_source_has_this" in capsys.readouterr().out


def test_only_used_substitutions_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _src, dst = _tree(tmp_path, monkeypatch, "async def f() -> None:\n    await g()\n")
    monkeypatch.setattr(unasync, "SUBSTITUTIONS", [(r"\basync def\b", "def"), (r"\bawait\s+", "")])
    assert unasync.main([]) == 0
    assert dst.read_text().endswith("def f() -> None:\n    g()\n")
    assert unasync.main(["--check"]) == 0
