"""`ganstudio open` / `ganstudio gui FILE`: a file the loader refuses is one line on the terminal, the
same line `ganstudio sample` prints, and no window opens on it."""
import io
import json
import os
import pickle

import numpy as np
import pytest
import torch

from ganstudio.checkpoints import save_checkpoint
from ganstudio.cli import main
from ganstudio.engine import RenderState, save_session
from ganstudio.models import create_generator, tiny_config


@pytest.fixture
def opened(monkeypatch):
    calls = []
    monkeypatch.setattr("ganstudio.gui.app.run_app", lambda f=None: calls.append(f) or 0)
    return calls


class _Evil:
    def __reduce__(self):
        return os.system, ("echo pwned",)


def _nan_checkpoint(path):
    # The header is fine (the old check read only that); a weight is NaN.
    G = create_generator("dcgan", tiny_config("dcgan"))
    with torch.no_grad():
        next(G.parameters()).fill_(float("nan"))
    return save_checkpoint(path, G)


def _malicious_pickle(path):
    path.write_bytes(pickle.dumps({"G_ema": _Evil()}, protocol=2))
    return path


def _torch_file(path):
    buf = io.BytesIO()
    torch.save({"netG": _Evil()}, buf)
    path.write_bytes(buf.getvalue())
    return path


@pytest.mark.parametrize("make, words", [(_nan_checkpoint, "NaN"), (_malicious_pickle, "refused"),
                                         (_torch_file, "refused")])
@pytest.mark.parametrize("command", ["open", "gui"])
def test_a_refused_file_is_one_line_like_sample(tmp_path, capsys, opened, make, words, command):
    bad = make(tmp_path / ("bad.safetensors" if make is _nan_checkpoint else "bad.pkl"))
    assert main(["sample", str(bad), "--out", str(tmp_path / "x.png")]) == 2
    sample_err = capsys.readouterr().err
    assert main([command, str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and words in err, err
    assert err.replace(f"ganstudio {command}:", "ganstudio sample:", 1) == sample_err
    assert opened == []


def test_a_session_whose_model_is_refused_and_bad_latents(tmp_path, capsys, opened):
    bad = _malicious_pickle(tmp_path / "bad.pkl")
    save_session(tmp_path / "s.json", RenderState(model=str(bad)))
    assert main(["open", str(tmp_path / "s.json")]) == 2
    assert "refused" in capsys.readouterr().err
    good = save_checkpoint(tmp_path / "m.safetensors", create_generator("dcgan", tiny_config("dcgan")))
    save_session(tmp_path / "s.json", RenderState(model=str(good), z=(2e4,) * 8))
    assert main(["open", str(tmp_path / "s.json")]) == 2
    assert "magnitude 2e+04" in capsys.readouterr().err
    np.save(tmp_path / "z.npy", np.full((1, 8), np.inf, np.float32))
    assert main(["open", str(tmp_path / "z.npy")]) == 2
    assert "infinite" in capsys.readouterr().err
    assert opened == []


def test_good_files_open_in_the_window(tmp_path, opened):
    good = save_checkpoint(tmp_path / "m.safetensors", create_generator("dcgan", tiny_config("dcgan")))
    save_session(tmp_path / "s.json", RenderState(model=str(good)))
    for argv in (["open", str(good)], ["gui", str(good)], ["open", str(tmp_path / "s.json")]):
        assert main(argv) == 0
    assert opened == [str(good), str(good), str(tmp_path / "s.json")]
