"""Atomic writes: complete file or old file, normal permissions, no temp files left behind."""
import os
import stat

import pytest

from ganstudio._io import atomic_path, atomic_write_text


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "one")
    atomic_write_text(p, "two")
    assert p.read_text() == "two"
    assert [f.name for f in tmp_path.iterdir()] == ["a.txt"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~mask


def test_failed_write_keeps_old_file(tmp_path):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash while writing")
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["a.txt"]


def test_errors_name_the_path_asked_for_not_the_temp_file(tmp_path, monkeypatch):
    # `--out /proc/nope.png` said "No such file or directory: '/proc/.nope.png.pmtaw_sn.tmp'".
    if os.path.isdir("/proc/self"):
        with pytest.raises(OSError) as e:
            atomic_write_text("/proc/nope.txt", "x")
        assert e.value.filename == "/proc/nope.txt" and e.value.errno is not None
    p = tmp_path / "a.txt"
    atomic_write_text(p, "old")

    def full(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as e:
        atomic_write_text(p, "new")
    assert e.value.errno == 28 and e.value.filename == str(p)
    assert p.read_text() == "old" and [f.name for f in tmp_path.iterdir()] == ["a.txt"]
