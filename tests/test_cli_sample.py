import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.checkpoints import save_checkpoint
from ganstudio.cli import main
from ganstudio.imaging import make_grid, save_png, to_uint8
from ganstudio.models import create_generator, tiny_config

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    G = create_generator("dcgan", tiny_config("dcgan"))  # z_dim 8, 16x16 RGB
    return save_checkpoint(tmp_path_factory.mktemp("ck") / "dcgan.safetensors", G)


@pytest.fixture(scope="module")
def gray_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    G = create_generator("dcgan", tiny_config("dcgan", img_channels=1))
    return save_checkpoint(tmp_path_factory.mktemp("ck") / "gray.safetensors", G)


def _fails(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert needle in lines[0], err
    return lines[0]


def test_grid_png_and_npy(ckpt, tmp_path, capsys):
    out, npy = tmp_path / "grid.png", tmp_path / "raw.npy"
    assert main(["sample", str(ckpt), "--seeds", "0-4", "--cols", "3", "--out", str(out), "--npy", str(npy)]) == 0
    img = Image.open(out)
    # 2 rows x 3 cols of 16 px images with 2 px padding around and between.
    assert img.size == (3 * 18 + 2, 2 * 18 + 2) and img.mode == "RGB"
    raw = np.load(npy, allow_pickle=False)
    assert raw.shape == (5, 3, 16, 16) and raw.dtype == np.float32
    assert raw.min() >= -1 and raw.max() <= 1 and raw.std() > 0
    # The PNG cells are the rounded raw images.
    cell = np.asarray(img)[2 + 18:2 + 18 + 16, 2 + 18:2 + 18 + 16]  # row 1, col 1 -> image 4
    assert np.array_equal(cell, to_uint8(torch.from_numpy(raw[4:5]))[0])
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files


def test_seeds_are_reproducible_and_match_z_file(ckpt, tmp_path):
    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    assert main(["sample", str(ckpt), "--seeds", "3,5", "--npy", str(a)]) == 0
    assert main(["sample", str(ckpt), "--seeds", "5", "--npy", str(b)]) == 0
    assert np.array_equal(np.load(a)[1], np.load(b)[0])
    from ganstudio.latent import seeded_z
    zf = tmp_path / "z.npy"
    np.save(zf, seeded_z([3, 5], 8).numpy().astype(np.float64))
    assert main(["sample", str(ckpt), "--z-file", str(zf), "--npy", str(c)]) == 0
    assert np.allclose(np.load(c), np.load(a), atol=1e-6)
    np.save(zf, seeded_z(5, 8).numpy()[0])  # a single [z_dim] row
    assert main(["sample", str(ckpt), "--z-file", str(zf), "--npy", str(c)]) == 0
    assert np.load(c).shape == (1, 3, 16, 16)
    zn, zj = tmp_path / "z.npz", tmp_path / "z.json"  # the same rows as an .npz key z, and as JSON
    np.savez(zn, z=seeded_z([3, 5], 8).numpy())
    zj.write_text(json.dumps(seeded_z([3, 5], 8).tolist()))
    for f in (zn, zj):
        assert main(["sample", str(ckpt), "--z-file", str(f), "--npy", str(c)]) == 0
        assert np.allclose(np.load(c), np.load(a), atol=1e-6)


def test_scale_trunc_and_grayscale(ckpt, gray_ckpt, tmp_path):
    out = tmp_path / "g.png"
    assert main(["sample", str(gray_ckpt), "--seeds", "0-3", "--scale", "2", "--out", str(out)]) == 0
    img = Image.open(out)
    assert img.mode == "L" and img.size == (2 * 34 + 2, 2 * 34 + 2)


def _npz(**arrays) -> bytes:
    import io
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("content, needle", [
    (lambda p: np.save(p, np.zeros((2, 5), np.float32)), "expected z [8] or [N, 8]"),
    (lambda p: np.save(p, np.zeros((2, 8, 1), np.float32)), "does not fit this model"),
    (lambda p: np.save(p, np.zeros((0, 8), np.float32)), "empty"),
    (lambda p: np.save(p, np.array([{"x": 1}], dtype=object), allow_pickle=True), "pickled"),
    (lambda p: np.save(p, np.array(["a"] * 8)), "numeric"),
    (lambda p: np.save(p, np.full((1, 8), np.nan, np.float32)), "NaN"),
    (lambda p: p.write_bytes(b"not an array at all"), "not a latent file"),
    (lambda p: p.write_bytes(np.lib.format.magic(1, 0) + b"\x10\x00{'descr': '<f4',"), "corrupt"),
])
def test_bad_z_files(ckpt, tmp_path, capsys, content, needle):
    zf = tmp_path / "z.npy"
    content(zf)
    _fails(capsys, ["sample", str(ckpt), "--z-file", str(zf), "--out", str(tmp_path / "o.png")], needle)
    assert not (tmp_path / "o.png").exists()


def test_huge_latents_are_refused_and_nothing_is_written(ckpt, tmp_path, capsys):
    # A float32 .npy of 3e38 rendered all-NaN raw images and a garbage PNG, rc 0.
    out, npy = tmp_path / "o.png", tmp_path / "o.npy"
    np.save(tmp_path / "z.npy", np.full((2, 8), 3e38, np.float32))
    _fails(capsys, ["sample", str(ckpt), "--z-file", str(tmp_path / "z.npy"), "--out", str(out), "--npy", str(npy)],
           "magnitude 3e+38")
    (tmp_path / "z.json").write_text(json.dumps({"z": [[2e4] + [0.0] * 7]}))
    _fails(capsys, ["sample", str(ckpt), "--z-file", str(tmp_path / "z.json"), "--out", str(out)], "magnitude 2e+04")
    (tmp_path / "z.json").write_text(json.dumps({"state": {"model": "m", "z": [3e38] + [0.0] * 7}}))  # Gallery's
    _fails(capsys, ["sample", str(ckpt), "--z-file", str(tmp_path / "z.json"), "--out", str(out)], "magnitude 3e+38")
    from ganstudio.engine import RenderState, save_session
    save_session(tmp_path / "s.json", RenderState(model=str(ckpt), z=(1e5,) + (0.0,) * 7))
    _fails(capsys, ["sample", "--session", str(tmp_path / "s.json"), "--out", str(out)], "magnitude 1e+05")
    (tmp_path / "s.json").unlink()
    np.save(tmp_path / "ok.npy", np.full((1, 8), 50.0, np.float32))  # large, but a latent a user may mean
    assert main(["sample", str(ckpt), "--z-file", str(tmp_path / "ok.npy"), "--out", str(out)]) == 0
    out.unlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.npy", "z.json", "z.npy"]


def test_non_finite_images_are_never_written(ckpt, tmp_path, capsys, monkeypatch):
    from ganstudio.engine.renderer import Renderer
    real = Renderer._synthesize

    def overflowing(self, G, info, state, ws, c, *args, **kwargs):
        img = real(self, G, info, state, ws, c, *args, **kwargs).clone()
        img[-1] = float("nan")  # the last image of each batch
        return img
    monkeypatch.setattr(Renderer, "_synthesize", overflowing)
    out, npy = tmp_path / "o.png", tmp_path / "o.npy"
    line = _fails(capsys, ["sample", str(ckpt), "--seeds", "3-5", "--out", str(out), "--npy", str(npy)], "NaN")
    assert "image 2 (seed 5)" in line
    _fails(capsys, ["sample", str(ckpt), "--seeds", "7", "--out", str(out)], "seed 7")  # PNG only: NaN showed grey
    assert list(tmp_path.iterdir()) == []


def test_an_out_path_that_cannot_be_written_is_named(ckpt, tmp_path, capsys):
    if not Path("/proc/self").is_dir():
        pytest.skip("needs /proc, where no file can be created")
    line = _fails(capsys, ["sample", str(ckpt), "--seeds", "0", "--out", "/proc/nope.png"], "/proc/nope.png")
    assert ".tmp" not in line and "No such file" in line


def test_missing_and_bad_arguments(ckpt, tmp_path, capsys):
    _fails(capsys, ["sample", str(ckpt), "--z-file", str(tmp_path / "none.npy")], "no such file")
    _fails(capsys, ["sample", str(tmp_path / "none.safetensors")], "no such checkpoint")
    _fails(capsys, ["sample", str(ckpt), "--seeds", "4-1"], "below the start")
    _fails(capsys, ["sample", str(ckpt), "--seeds", "x"], "bad seed")
    _fails(capsys, ["sample", str(ckpt), "--psi", "0.7"], "--psi")
    _fails(capsys, ["sample", str(ckpt), "--class", "2"], "unconditional")
    _fails(capsys, ["sample", str(ckpt), "--scale", "0"], "--scale")
    _fails(capsys, ["sample", str(ckpt), "--seeds", "1", "--z-file", "z.npy"], "either")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 64)
    _fails(capsys, ["sample", str(bad)], str(bad))


def test_registry_name_samples_untrained(tmp_path, capsys):
    out = tmp_path / "u.png"
    assert main(["sample", "dcgan", "--seeds", "0", "--out", str(out)]) == 0
    assert "untrained" in capsys.readouterr().err
    assert Image.open(out).size == (68, 68)


def test_class_conditional(tmp_path, capsys):
    from ganstudio.models import list_models
    cond = [n for n in list_models() if create_generator(n, tiny_config(n)).c_dim > 0]
    if not cond:
        pytest.skip("no class-conditional family registered yet")
    torch.manual_seed(0)
    G = create_generator(cond[0], tiny_config(cond[0]))
    ck = save_checkpoint(tmp_path / "c.safetensors", G)
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert main(["sample", str(ck), "--seeds", "0-1", "--class", "1", "--npy", str(a)]) == 0
    assert main(["sample", str(ck), "--seeds", "0-1", "--class-weights", "1:2", "--npy", str(b)]) == 0
    assert np.array_equal(np.load(a), np.load(b))  # weight normalised to 1 on class 1 == class 1
    capsys.readouterr()
    zero, plain = tmp_path / "zero.npy", tmp_path / "plain.npy"
    assert main(["sample", str(ck), "--seeds", "0-1", "--class", "0", "--npy", str(zero)]) == 0
    assert main(["sample", str(ck), "--seeds", "0-1", "--npy", str(plain)]) == 0  # was refused: class 0, said
    assert np.array_equal(np.load(zero), np.load(plain)) and capsys.readouterr().err.count("rendering class 0") == 1
    _fails(capsys, ["sample", str(ck), "--class-weights", "1:-1,2:2"], "negative")
    _fails(capsys, ["sample", str(ck), "--class-weights", "1=2"], "bad item")
    _fails(capsys, ["sample", str(ck), "--class", str(G.c_dim)], "out of range")


def test_class_names_match_without_case_and_errors_list_them(tmp_path, capsys):
    from ganstudio.training.data import FASHION_MNIST_CLASSES
    torch.manual_seed(0)
    G = create_generator("cgan", tiny_config("cgan", c_dim=10))
    ck = save_checkpoint(tmp_path / "fm.safetensors", G, class_names=FASHION_MNIST_CLASSES)
    a, b, c = tmp_path / "a.npy", tmp_path / "b.npy", tmp_path / "c.npy"
    assert main(["sample", str(ck), "--seeds", "0", "--class", "Sandal", "--npy", str(a)]) == 0
    assert main(["sample", str(ck), "--seeds", "0", "--class", "sandal", "--npy", str(b)]) == 0  # was refused
    assert main(["sample", str(ck), "--seeds", "0", "--class-weights", " SANDAL:1", "--npy", str(c)]) == 0
    assert np.array_equal(np.load(a), np.load(b)) and np.array_equal(np.load(a), np.load(c))
    line = _fails(capsys, ["sample", str(ck), "--seeds", "0", "--class", "sandals"], "unknown class 'sandals'")
    assert ", ".join(FASHION_MNIST_CLASSES) in line


def test_class_index_with_many_and_ambiguous_names():
    from ganstudio.commands.sample import class_index
    from ganstudio.resources_data import imagenet_class_names
    names = imagenet_class_names()
    assert class_index("Goldfish", names, 1000) == names.index("goldfish") and class_index("7", names, 1000) == 7
    with pytest.raises(ValueError) as e:
        class_index("goldfsh", names, 1000)
    assert "1000 class names" in str(e.value) and "closest: goldfish" in str(e.value)
    assert class_index("b", ["B", "b"], 2) == 1  # the exact case first
    with pytest.raises(ValueError, match="ambiguous: it is class 0, 2"):
        class_index("A", ["a", "x", "a"], 3)


def test_without_out_the_default_file_is_named_in_full(ckpt, tmp_path, capsys, monkeypatch):
    # samples.png, the default, was written (and once committed) at the root without a word of where.
    monkeypatch.chdir(tmp_path)
    assert main(["sample", str(ckpt), "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'samples.png'} (" in out and "no --out given" in out
    assert Image.open(tmp_path / "samples.png").size == (20, 20)
    assert main(["sample", str(ckpt), "--seeds", "0", "--out", "mine.png"]) == 0
    assert capsys.readouterr().out.startswith("wrote mine.png (1 image, 20x20 px)")


def test_imaging_helpers(tmp_path):
    img = torch.tensor([-1.0, -0.999, 0.0, 1.0, 2.0, float("nan")]).reshape(1, 1, 1, 6)
    assert to_uint8(img)[0, 0, :, 0].tolist() == [0, 0, 128, 255, 255, 128]
    grid = make_grid(np.zeros((3, 4, 5, 3), np.uint8), cols=2, pad=1, pad_value=7)
    assert grid.shape == (2 * 5 + 1, 2 * 6 + 1, 3)
    assert (grid[0] == 7).all() and (grid[6:, 7:] == 7).all()  # padding and the empty cell
    with pytest.raises(ValueError):
        make_grid(np.zeros((0, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError):
        save_png(tmp_path / "x.png", np.zeros((4, 4, 2), np.uint8))


def _entry_points() -> list[list[str]]:
    """Every way to start the command line, from whatever environment runs the tests (not only
    the repository's .venv): the modules, and the console script where this Python has one."""
    cmds = [[sys.executable, "-m", "ganstudio"], [sys.executable, "-m", "ganstudio.cli"]]
    script = shutil.which("ganstudio", path=str(Path(sys.executable).parent))
    return cmds + ([[script]] if script else [])


def _run(cmd, cwd):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT)] + [os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def test_subprocess_entry_point(ckpt, tmp_path):
    out = tmp_path / "s.png"
    ok = _run(_entry_points()[0] + ["sample", str(ckpt), "--seeds", "0-1", "--out", str(out)], tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert Image.open(out).size == (2 * 18 + 2, 18 + 2)
    bad = tmp_path / "p.npy"
    np.save(bad, np.array([object()], dtype=object), allow_pickle=True)
    r = _run(_entry_points()[0] + ["sample", str(ckpt), "--z-file", str(bad)], tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "pickled" in r.stderr


def test_no_entry_point_prints_a_traceback_for_a_usage_error(tmp_path):
    # Run as __main__, cli.py used to define a second UsageError that the commands never raised.
    for cmd in _entry_points():
        r = _run(cmd + ["sample", "--seeds", "0"], tmp_path)
        assert r.returncode == 2 and "Traceback" not in r.stderr, (cmd, r.stderr)
        assert r.stderr.strip().splitlines() == [r.stderr.strip()], (cmd, r.stderr)
        assert "give a CHECKPOINT_OR_MODEL" in r.stderr, (cmd, r.stderr)


def test_psi_zero_on_stylegan2_renders_the_average(tmp_path):
    from ganstudio.models import list_models
    if "stylegan2" not in list_models():
        pytest.skip("stylegan2 not registered")
    torch.manual_seed(0)
    ck = save_checkpoint(tmp_path / "s.safetensors", create_generator("stylegan2", tiny_config("stylegan2")))
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert main(["sample", str(ck), "--seeds", "0-2", "--psi", "0", "--npy", str(a)]) == 0
    assert main(["sample", str(ck), "--seeds", "0-2", "--psi", "0", "--cutoff", "0", "--npy", str(b)]) == 0
    x, y = np.load(a), np.load(b)
    assert np.array_equal(x[0], x[1]) and np.array_equal(x[1], x[2])  # every ws is w_avg, noise const
    assert not np.array_equal(y[0], y[1])  # cutoff 0: psi applies to no layer


def _window(states):
    from ganstudio.engine import Renderer
    res = Renderer("cpu").render_batch(states)
    assert res.error == "", res.error
    return res.image


def test_biggan_deep_trunc_picks_the_statistics_the_window_does(tmp_path):
    # BigGAN-deep chooses BatchNorm statistics by the truncation: the command line used those of 1.0.
    from ganstudio.engine import RenderState
    from ganstudio.models import get_spec
    torch.manual_seed(0)
    G = create_generator("biggan-deep", **get_spec("biggan-deep").tiny)
    with torch.no_grad():
        for name, b in G.named_buffers():
            if name.endswith("running_means"):
                b.copy_(torch.randn(b.shape) * 0.5)
            elif name.endswith("running_vars"):
                b.copy_(0.5 + torch.rand(b.shape))
    ck = save_checkpoint(tmp_path / "bgd.safetensors", G)
    npy = tmp_path / "o.npy"
    assert main(["sample", str(ck), "--seeds", "0-3", "--trunc", "0.5", "--class", "1", "--npy", str(npy)]) == 0
    want = _window([RenderState(model=str(ck), seed=s, z_threshold=0.5, class_weights=((1, 1.0),)) for s in range(4)])
    assert np.array_equal(to_uint8(torch.from_numpy(np.load(npy))), want)


def test_ws_latent_files_render_like_the_window(tmp_path, capsys):
    # Gallery > Latents .npy writes ws [num_ws, w_dim] (it was read as num_ws z rows); NVIDIA's projector
    # writes projected_w.npz with w [1, num_ws, w_dim] (it was refused); a Gallery .json was refused too.
    from ganstudio.engine import Renderer, RenderState
    torch.manual_seed(0)
    ck = str(save_checkpoint(tmp_path / "s.safetensors", create_generator("stylegan2", tiny_config("stylegan2"))))
    r = Renderer("cpu")
    _, _, ws = r.latents(RenderState(model=ck, seed=7))
    np.save(tmp_path / "gallery.npy", ws[0].numpy())
    np.savez(tmp_path / "projected_w.npz", w=ws.numpy())
    (tmp_path / "gallery.json").write_text(json.dumps({"state": RenderState(model=ck, seed=7).to_dict()}))
    want = _window([RenderState(model=ck, seed=7)])
    for name in ("gallery.npy", "projected_w.npz", "gallery.json"):
        out = tmp_path / f"{name}.png"
        assert main(["sample", ck, "--latents", str(tmp_path / name), "--out", str(out)]) == 0
        grid = np.asarray(Image.open(out).convert("RGB"))
        assert np.array_equal(grid[2:-2, 2:-2], want[0]), name  # a grid of one, 2 px of padding around
    _fails(capsys, ["sample", ck, "--z-file", str(tmp_path / "gallery.json"), "--psi", "0.5"], "whole render state")


def test_output_format_follows_the_extension(ckpt, tmp_path, capsys):
    for name, magic in (("g.jpg", b"\xff\xd8"), ("g.webp", b"RIFF"), ("g.png", b"\x89PNG")):
        assert main(["sample", str(ckpt), "--seeds", "0-1", "--out", str(tmp_path / name)]) == 0
        assert (tmp_path / name).read_bytes()[:len(magic)] == magic
    _fails(capsys, ["sample", str(ckpt), "--out", str(tmp_path / "g.xyz")], "unknown image type")
    _fails(capsys, ["sample", str(ckpt), "--seeds", "0-999999", "--scale", "32"], "too large")


def test_session_flags_it_fixes_are_refused_and_npy_is_raw(ckpt, tmp_path, capsys):
    from ganstudio.engine import RenderState, save_session
    save_session(tmp_path / "s.json", RenderState(model=str(ckpt), seed=3))
    for flag in (["--noise", "none"], ["--cutoff", "2"], ["--psi", "0.5"]):
        _fails(capsys, ["sample", "--session", str(tmp_path / "s.json"), *flag], "--session fixes every setting")
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    assert main(["sample", "--session", str(tmp_path / "s.json"), "--seeds", "0-39", "--npy", str(a)]) == 0
    assert main(["sample", str(ckpt), "--seeds", "0-39", "--npy", str(b)]) == 0
    x = np.load(a)
    assert x.dtype == np.float32 and x.shape == (40, 3, 16, 16)  # the same raw format as without --session
    assert np.array_equal(x, np.load(b))  # 40 seeds, rendered a batch at a time


def test_a_gallery_json_of_a_conditional_model_brings_its_class(tmp_path):
    # The command line insisted on --class, which a latents .json already holds (and --class is refused with it).
    from ganstudio.engine import RenderState
    torch.manual_seed(0)
    ck = str(save_checkpoint(tmp_path / "c.safetensors", create_generator("cgan", tiny_config("cgan"))))
    state = RenderState(model=ck, seed=3, class_weights=((2, 1.0),))
    (tmp_path / "l.json").write_text(json.dumps({"state": state.to_dict()}))
    out = tmp_path / "o.png"
    assert main(["sample", ck, "--latents", str(tmp_path / "l.json"), "--out", str(out)]) == 0
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB"))[2:-2, 2:-2], _window([state])[0])
