"""Foreign files: safe reading, detection by content, clear refusals, the `ganstudio import` command."""
import os
import pickle
import sys

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from ganstudio.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from ganstudio.checkpoints.importers import (default_destination, import_file, importers, load_foreign,
                                             open_any)
from ganstudio.cli import main
from ganstudio.models import create_generator


class _RunsCommand:
    """Unpickling this calls os.system: the classic malicious pickle."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class Settings:  # an arbitrary non-tensor class, as training scripts often pickle
    def __init__(self):
        self.lr = 0.1


def _dcgan_sd():
    torch.manual_seed(0)
    return create_generator("dcgan", z_dim=8, img_resolution=16, ngf=4).state_dict()


def test_every_importer_has_the_interface():
    mods = importers()
    names = [m.NAME for m in mods]
    assert {"pytorch-dcgan", "biggan-deep-hf", "gan-zoo"} <= set(names)
    assert len(names) == len(set(names))
    for m in mods:
        assert isinstance(m.DESCRIPTION, str) and m.DESCRIPTION
        assert callable(m.sniff) and callable(m.convert)


def test_malicious_torch_file_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    src = tmp_path / "evil.pt"
    torch.save({"netG": _dcgan_sd(), "payload": _RunsCommand(marker)}, src)
    with pytest.raises(CheckpointError, match="refused") as e:
        open_any(src)
    assert "system" in str(e.value) and "\n" not in str(e.value)
    assert not marker.exists()


def test_malicious_plain_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    src = tmp_path / "network-snapshot.pkl"
    src.write_bytes(pickle.dumps({"G_ema": _RunsCommand(marker)}, protocol=4))
    with pytest.raises(CheckpointError):
        open_any(src)
    assert not marker.exists()


def test_malicious_legacy_torch_file_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    src = tmp_path / "old.pth"
    torch.save({"x": _RunsCommand(marker)}, src, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="refused"):
        load_foreign(src)
    assert not marker.exists()


def test_non_tensor_global_is_refused(tmp_path):
    src = tmp_path / "ckpt.pt"
    torch.save({"netG": _dcgan_sd(), "args": Settings()}, src)
    with pytest.raises(CheckpointError, match=r"refused.*Settings"):
        open_any(src)


def test_unknown_content_names_what_was_found(tmp_path):
    src = tmp_path / "weird.pt"
    torch.save({"encoder": {"layer1.weight": torch.zeros(3, 5)}, "step": 10}, src)
    with pytest.raises(CheckpointError) as e:
        open_any(src)
    msg = str(e.value)
    assert "no importer recognises" in msg and "encoder" in msg and "step" in msg
    assert "encoder.layer1.weight [3, 5]" in msg
    assert "pytorch-dcgan" in msg and "Supported" in msg


def test_random_bytes_and_text_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(CheckpointError, match="not a checkpoint in any supported format"):
        open_any(junk)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="supported"):
        open_any(text)
    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        open_any(empty)
    with pytest.raises(CheckpointError, match="no such file"):
        open_any(tmp_path / "missing.pt")


def test_truncated_torch_file(tmp_path):
    src = tmp_path / "g.pth"
    torch.save(_dcgan_sd(), src)
    data = src.read_bytes()
    for cut in (100, len(data) // 2, len(data) - 10):
        bad = tmp_path / f"cut{cut}.pth"
        bad.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            open_any(bad)


def test_foreign_safetensors_state_dict_is_detected(tmp_path):
    sd = _dcgan_sd()
    src = tmp_path / "dcgan_weights.safetensors"
    save_file({k: v.contiguous() for k, v in sd.items()}, str(src))
    ck = open_any(src)
    assert ck.model_name == "dcgan" and ck.G.img_resolution == 16
    dst = import_file(src)
    assert dst == tmp_path / "dcgan_weights.ganstudio.safetensors"
    assert load_checkpoint(dst).meta["extra"]["imported"]["importer"] == "pytorch-dcgan"


def test_our_own_format_opens_directly(tmp_path):
    torch.manual_seed(1)
    G = create_generator("dcgan", z_dim=8, img_resolution=16, ngf=4)
    path = save_checkpoint(tmp_path / "ours.safetensors", G)
    ck = open_any(path)
    assert "imported" not in ck.meta.get("extra", {})
    with pytest.raises(CheckpointError, match="already a GAN Studio checkpoint"):
        import_file(path)


def test_folder_without_weights_is_a_clear_error(tmp_path):
    (tmp_path / "readme.md").write_text("x")
    with pytest.raises(CheckpointError, match="config.json"):
        open_any(tmp_path)


def test_default_destination(tmp_path):
    assert default_destination(tmp_path / "a.pth") == tmp_path / "a.safetensors"
    assert default_destination(tmp_path / "a.safetensors") == tmp_path / "a.ganstudio.safetensors"
    (tmp_path / "biggan").mkdir()
    assert default_destination(tmp_path / "biggan") == tmp_path / "biggan.safetensors"


def test_import_command(tmp_path, capsys):
    src = tmp_path / "netG.pth"
    torch.save(_dcgan_sd(), src)
    assert main(["import", str(src), "--info"]) == 0
    out = capsys.readouterr().out
    assert "pytorch-dcgan" in out and "16x16" in out
    assert not (tmp_path / "netG.safetensors").exists()
    assert main(["import", str(src)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert load_checkpoint(tmp_path / "netG.safetensors").model_name == "dcgan"
    dst = tmp_path / "sub" / "x.safetensors"
    assert main(["import", str(src), "--out", str(dst)]) == 0 and dst.exists()


def test_import_command_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    torch.save({"args": Settings()}, bad)
    assert main(["import", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ganstudio import: error:") and "refused" in err and "\n" not in err
    assert main(["import", str(tmp_path / "nope.pt")]) == 2
    assert "no such file" in capsys.readouterr().err
