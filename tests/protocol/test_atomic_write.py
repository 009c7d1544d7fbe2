"""The one atomic-write helper (`_files.write_atomic`) and the writers that use it: plain tables, no sockets.

Before issue 13 six writers each had their own temp-file-and-rename. Two of them (the emulator's signing
key and its TLS files) wrote through a predictable temporary name, `.NAME.PID.tmp`, opened without
`O_EXCL | O_NOFOLLOW`, so a link planted under that name had its target overwritten.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from containerregistry._files import write_atomic
from containerregistry.emulator.auth import load_or_create_signing_key
from containerregistry.emulator.tls import generate_self_signed
from containerregistry.exceptions import UnsafePathError


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


WRITES = [
    # mode given, the file's mode afterwards (umask 022)
    (None, 0o644),
    (0o600, 0o600),
    (0o644, 0o644),
    (0o640, 0o640),
]


@pytest.mark.parametrize(("mode", "expected"), WRITES)
def test_write_atomic_replaces_content_and_sets_mode(
    tmp_path: Path, umask_022: None, mode: int | None, expected: int
) -> None:
    target = tmp_path / "config.json"
    target.write_bytes(b"old")
    write_atomic(target, b"new", mode=mode)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json"]  # no partial left


def test_write_atomic_failure_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "index.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes", sync_directory=True)  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json"]


def test_write_atomic_replaces_a_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    target = tmp_path / "key"
    target.symlink_to(victim)
    write_atomic(target, b"new", mode=0o600, sync_directory=True)
    assert victim.read_bytes() == b"precious"
    assert not target.is_symlink() and target.read_bytes() == b"new"


def test_partial_swapped_while_written_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import containerregistry._files as files

    target = tmp_path / "out"
    real_commit = files.commit_partial

    def swap_then_commit(file, partial, path, **kwargs):
        os.unlink(partial)
        Path(partial).write_bytes(b"planted")
        return real_commit(file, partial, path, **kwargs)

    monkeypatch.setattr(files, "commit_partial", swap_then_commit)
    with pytest.raises(UnsafePathError, match="replaced while it was written"):
        write_atomic(target, b"data")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def _plant_at_old_temp_name(path: Path, victim: Path) -> Path:
    link = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    link.symlink_to(victim)
    return link


def test_signing_key_is_never_written_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    key_path = tmp_path / "data" / "signing.key"
    key_path.parent.mkdir()
    _plant_at_old_temp_name(key_path, victim)
    key = load_or_create_signing_key(key_path)
    assert victim.read_bytes() == b"precious"  # was: the key, written through the link
    assert key_path.read_bytes() == key and not key_path.is_symlink()
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert load_or_create_signing_key(key_path) == key


def test_tls_files_are_never_written_through_a_planted_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    directory = tmp_path / "tls"
    directory.mkdir(mode=0o700)
    _plant_at_old_temp_name(directory / "ca-key.pem", victim)
    cert, key, ca = generate_self_signed(["localhost"], directory)
    assert victim.read_bytes() == b"precious"  # was: the CA's private key, written through the link
    assert b"PRIVATE KEY" in key.read_bytes() and b"CERTIFICATE" in ca.read_bytes() and cert.exists()
    assert stat.S_IMODE((directory / "ca-key.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE(ca.stat().st_mode) == 0o644
