"""`ganstudio train-encoder`: writes an encoder file `project --encoder` reads; bad input is one line, rc 2."""
import pytest
import torch

from ganstudio.cli import main
from ganstudio.engine.inversion_encoder import load_encoder

SG2 = "registry:stylegan2:tiny"


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)  # the command sets its own thread count


def test_trains_and_writes_a_file_project_reads(tmp_path, capsys):
    out = tmp_path / "enc.safetensors"
    assert main(["train-encoder", "--model", SG2, "--data", "shapes-upright:16", "--steps", "3", "--batch", "4",
                 "--real-batch", "2", "--out", str(out), "--quiet"]) == 0
    assert "held-out start PSNR" in capsys.readouterr().out
    enc = load_encoder(out)
    assert enc.meta["recipe"]["steps"] == 3 and enc.meta["recipe"]["real_batch"] == 2
    assert enc.meta["training"]["steps_done"] == 3 and enc.meta["data"] == "shapes-upright:16"
    assert set(enc.meta["metrics"]["held_out_start"]) == {"n", "encoder_psnr", "mean_psnr"}
    assert enc.net.cfg.num_ws == 6 and enc.net.cfg.in_channels == 3
    img = tmp_path / "x.png"
    from PIL import Image
    Image.new("RGB", (20, 20), (200, 30, 30)).save(img)
    assert main(["project", str(img), "--model", SG2, "--steps", "1", "--encoder", str(out), "--out",
                 str(tmp_path / "l.npy")]) == 0


def test_same_seed_same_weights(tmp_path):
    files = []
    for name in ("a", "b"):
        files.append(tmp_path / f"{name}.safetensors")
        assert main(["train-encoder", "--model", SG2, "--data", "none", "--steps", "2", "--batch", "4",
                     "--out", str(files[-1]), "--quiet"]) == 0
    a, b = (load_encoder(f).net.state_dict() for f in files)
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_stop_after_keeps_the_schedule_and_half_stores_float16(tmp_path):
    from safetensors import safe_open
    out = tmp_path / "h.safetensors"
    assert main(["train-encoder", "--model", SG2, "--data", "none", "--steps", "6", "--stop-after", "2",
                 "--batch", "4", "--half", "--out", str(out), "--quiet"]) == 0
    enc = load_encoder(out)
    assert enc.meta["training"]["steps_done"] == 2 and enc.meta["recipe"]["steps"] == 6
    with safe_open(str(out), "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.float16}
    assert all(v.dtype == torch.float32 for v in enc.net.state_dict().values())


@pytest.mark.parametrize("extra, words", [
    (["--model", SG2, "--stop-after", "9"], "--stop-after must be in"),
    (["--model", "registry:dcgan:tiny"], "no w+ space"),
    (["--model", SG2, "--steps", "0"], "--steps must be in"),
    (["--model", SG2, "--lr", "2"], "--lr must be in"),
    (["--model", SG2, "--max-minutes", "nan"], "--max-minutes must be"),  # was accepted: no time limit at all
    (["--model", SG2, "--data", "no-such-data-set"], "--data:"),
    (["--model", SG2, "--out-suffix"], "write a .safetensors file"),
])
def test_bad_arguments_are_one_line(tmp_path, capsys, extra, words):
    out = str(tmp_path / "e.safetensors")
    if "--out-suffix" in extra:
        extra, out = extra[:-1], str(tmp_path / "e.pt")
    assert main(["train-encoder", "--steps", "1", "--out", out] + extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert words in err[-1] and err[-1].startswith("ganstudio train-encoder: error:"), err
    assert not list(tmp_path.iterdir())
