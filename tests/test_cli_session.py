"""`ganstudio sample --session` renders the same pixels as the engine (and so the window)."""
import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.checkpoints import save_checkpoint
from ganstudio.cli import main
from ganstudio.engine import Renderer, RenderState, save_session
from ganstudio.models import create_generator, get_spec


def test_session_renders_same_pixels(tmp_path):
    torch.manual_seed(0)
    G = create_generator("dcgan", **get_spec("dcgan").tiny).eval()
    save_checkpoint(tmp_path / "m.safetensors", G)
    state = RenderState(model=str(tmp_path / "m.safetensors"), seed=4, edits=(("raw", 1, 2.0, None),))
    save_session(tmp_path / "s.json", state)
    assert main(["sample", "--session", str(tmp_path / "s.json"), "--out", str(tmp_path / "o.png")]) == 0
    png = np.asarray(Image.open(tmp_path / "o.png").convert("RGB"))
    assert np.array_equal(png, Renderer("cpu").render(state).image)


def test_session_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "bad.json").write_text("{nope")
    assert main(["sample", "--session", str(tmp_path / "bad.json")]) == 2
    err = capsys.readouterr().err
    assert "not a session file" in err and "Traceback" not in err and err.count("\n") == 1
    save_session(tmp_path / "s.json", RenderState(model=str(tmp_path / "missing.safetensors")))
    assert main(["sample", "--session", str(tmp_path / "s.json")]) == 2
    assert "no such file" in capsys.readouterr().err
