from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from refinery.errors import ApplyRefused
from refinery.fixes.write import FileWrite, write_files


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.refinery"))


def test_writes_exact_bytes_and_keeps_the_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "run.sh"
    target.write_bytes(b"echo one\r\n")
    target.chmod(0o750)
    write_files([FileWrite(path=target, data=b"echo two\r\n", before=b"echo one\r\n")])
    assert target.read_bytes() == b"echo two\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert _leftovers(tmp_path) == []


def test_creates_and_deletes_files(tmp_path: Path) -> None:
    gone = tmp_path / "gone.txt"
    gone.write_text("x")
    write_files(
        [
            FileWrite(path=tmp_path / "new.txt", data=b"new\n", before=None),
            FileWrite(path=gone, data=None, before=b"x"),
        ]
    )
    assert (tmp_path / "new.txt").read_bytes() == b"new\n"
    assert not gone.exists()


def test_a_failed_rename_of_the_second_file_restores_the_first(tmp_path: Path) -> None:
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_bytes(b"first before\n")
    second.mkdir()  # a real failure: a file cannot be renamed over a directory
    with pytest.raises(ApplyRefused) as refused:
        write_files(
            [
                FileWrite(path=first, data=b"first after\n", before=b"first before\n"),
                FileWrite(path=second, data=b"second after\n", before=b"second before\n"),
            ]
        )
    assert str(refused.value).startswith(
        f"cannot write {second}: Is a directory: nothing was changed"
    )
    assert "1 file(s) written before it were restored" in str(refused.value)
    assert first.read_bytes() == b"first before\n"
    assert second.is_dir()
    assert _leftovers(tmp_path) == []


def test_a_second_file_that_cannot_be_staged_leaves_everything_untouched(tmp_path: Path) -> None:
    first = tmp_path / "a.txt"
    first.write_bytes(b"before\n")
    (tmp_path / "blocker").write_text("a file, not a directory")
    second = tmp_path / "blocker" / "b.txt"
    with pytest.raises(ApplyRefused, match="nothing was changed"):
        write_files(
            [
                FileWrite(path=first, data=b"after\n", before=b"before\n"),
                FileWrite(path=second, data=b"x\n", before=None),
            ]
        )
    assert first.read_bytes() == b"before\n"
    assert _leftovers(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_read_only_directory_for_the_second_file_leaves_the_first_untouched(
    tmp_path: Path,
) -> None:
    first = tmp_path / "a.txt"
    first.write_bytes(b"before\n")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "b.txt").write_bytes(b"b\n")
    locked.chmod(0o555)
    try:
        with pytest.raises(ApplyRefused, match="Permission denied"):
            write_files(
                [
                    FileWrite(path=first, data=b"after\n", before=b"before\n"),
                    FileWrite(path=locked / "b.txt", data=b"B\n", before=b"b\n"),
                ]
            )
    finally:
        locked.chmod(0o755)
    assert first.read_bytes() == b"before\n"
    assert (locked / "b.txt").read_bytes() == b"b\n"


def test_a_staging_folder_on_another_file_system_falls_back_to_beside_the_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    target = tmp_path / "work" / "prompt.txt"
    target.parent.mkdir()
    target.write_bytes(b"before\n")
    real = os.replace

    def cross_device(src: object, dst: object) -> None:
        if Path(str(src)).parent == staging:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", cross_device)
    write_files([FileWrite(path=target, data=b"after\n", before=b"before\n")], staging=staging)
    assert target.read_bytes() == b"after\n"
    assert list(staging.iterdir()) == [] and _leftovers(tmp_path) == []
