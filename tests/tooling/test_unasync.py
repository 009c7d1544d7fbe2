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
    monkeypatch.setattr(unasync, "sources", lambda: [(src, dst)])
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
