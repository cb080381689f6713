"""`ganstudio project`: the latents it writes are what the Gallery imports; bad input is one line, rc 2, no file."""
import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.cli import main
from ganstudio.engine import RenderState
from ganstudio.engine.encoding import image_tensor, load_image
from ganstudio.engine.latent_files import latent_states
from ganstudio.engine.projection import psnr
from ganstudio.engine.renderer import Renderer

SG2 = "registry:stylegan2:tiny"


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # see tests/engine/test_projection.py
    yield
    torch.set_num_threads(before)


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    rng = np.random.RandomState(0)
    Image.fromarray((rng.rand(30, 45, 3) * 255).astype(np.uint8)).save(path)  # not square, not the model's size
    return path


def _gallery_import(path, key):
    """What Gallery > Import latents does with the file: the states, rendered (float, before rounding)."""
    r = Renderer("cpu")
    info = r.load(key)
    states = latent_states(path, RenderState(model=key, seed=5, truncation_psi=0.7), info.z_dim, info.num_ws,
                           info.w_dim, info.capabilities.style_layers)
    out = r.render_batch(states, raw=True)
    assert not out.error
    return states, out.raw, info


def test_project_writes_latents_the_gallery_imports(tmp_path, photo, capsys):
    out = tmp_path / "latents.npz"
    assert main(["project", str(photo), str(photo), "--model", SG2, "--steps", "8", "--out", str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    with np.load(out) as f:
        assert f["ws"].shape == (2, 6, 32) and list(f["class_idx"]) == [-1, -1]
        stored_psnr = f["psnr"]
    states, raw, info = _gallery_import(out, SG2)
    assert len(states) == 2 and all(s.ws is not None for s in states)
    target = image_tensor(load_image(str(photo), info.resolution, info.channels))[0]
    for img, expected in zip(raw, stored_psnr):  # the imported state shows the projection's image
        assert psnr(torch.from_numpy(img), target) == pytest.approx(float(expected), abs=0.01)


def test_project_npy_in_z_of_a_conditional_model(tmp_path, photo, capsys):
    out = tmp_path / "z.npy"
    assert main(["project", str(photo), "--model", "registry:cgan:tiny", "--steps", "3", "--class", "1",
                 "--out", str(out)]) == 0
    assert "class 1" in capsys.readouterr().err
    assert np.load(out).shape == (1, 8)
    states, _, _ = _gallery_import(out, "registry:cgan:tiny")
    assert len(states[0].z) == 8 and states[0].ws is None


def test_project_writes_a_progress_video(tmp_path, photo):
    video = tmp_path / "progress.gif"
    assert main(["project", str(photo), "--model", SG2, "--space", "w", "--steps", "4", "--out",
                 str(tmp_path / "l.npy"), "--video", str(video)]) == 0
    with Image.open(video) as im:
        assert im.size == (32, 16) and im.n_frames == 4  # target | reconstruction, one frame per step here


def test_a_video_that_cannot_be_written_leaves_no_latents_file(tmp_path, photo, capsys):
    if not __import__("os").path.isdir("/proc"):
        pytest.skip("needs a folder no file can be created in (/proc)")
    out = tmp_path / "l.npy"
    assert main(["project", str(photo), "--model", SG2, "--space", "w", "--steps", "2", "--out", str(out),
                 "--video", "/proc/ganstudio_progress.gif"]) == 2
    err = capsys.readouterr().err
    assert "ganstudio_progress.gif" in err and "Traceback" not in err, err
    assert not out.exists()


@pytest.mark.parametrize("extra, words", [
    (["--space", "w+"], "--space w+: dcgan has no mapping network"),
    (["--steps", "0"], "--steps must be in"),
    (["--class", "2"], "--class: this model is unconditional"),
    (["--features", "-1"], "--features must be"),
    (["--features", "1"], "grey models only"),  # an RGB model: the term was dropped silently
    (["--optimize-noise"], "has no noise maps"),  # was ignored silently
    (["--out", "x.txt"], "write .npy or .npz"),
    (["--out", "/no/such/dir/x.npy"], "does not exist"),
    (["--video", "v.avi"], "write .mp4 or .gif"),
])
def test_bad_arguments_are_one_line(tmp_path, photo, capsys, extra, words):
    args = ["project", str(photo), "--model", "registry:dcgan:tiny", "--steps", "2", "--out",
            str(tmp_path / "l.npy")] + extra
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert words in err[-1] and err[-1].startswith("ganstudio project: error:")
    assert not (tmp_path / "l.npy").exists()


def test_bad_images_fail_before_any_work(tmp_path, photo, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    out = tmp_path / "l.npy"
    for images, words in (([str(photo), str(bad)], "could not read bad.png"),
                          ([str(tmp_path / "gone.png")], "gone.png: no such file")):
        assert main(["project", *images, "--model", SG2, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert words in err and "step" not in err  # refused before the first image was projected
    assert main(["project", str(photo), "--model", "registry:cgan:tiny", "--class", "9", "--out", str(out)]) == 2
    assert "out of range" in capsys.readouterr().err
    assert not out.exists() and not list(tmp_path.glob("*.tmp"))


def test_grey_models_use_the_classifier_features_by_default(tmp_path, photo, monkeypatch):
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.engine import projection
    from ganstudio.models import create_generator, get_spec
    grey = tmp_path / "grey.safetensors"
    save_checkpoint(grey, create_generator("dcgan", **{**get_spec("dcgan").tiny, "img_channels": 1}))
    used = []
    real = projection.project

    def spy(G, target, **kw):
        used.append((G.img_channels, kw["settings"].feature_weight))
        return real(G, target, **kw)
    monkeypatch.setattr(projection, "project", spy)
    for model, extra in ((str(grey), []), (str(grey), ["--features", "0"]), ("registry:dcgan:tiny", [])):
        assert main(["project", str(photo), "--model", model, "--steps", "2", "--out", str(tmp_path / "l.npy")]
                    + extra) == 0
    assert used == [(1, projection.GREY_FEATURES), (1, 0.0), (3, 0.0)]


def _tiny_sg2_and_image(tmp_path):
    """The registry's tiny StyleGAN2 as `--model registry:stylegan2:tiny` builds it, and a PNG it drew."""
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator("stylegan2", **get_spec("stylegan2").tiny).eval()
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ws = G.mapping(z, None)
        img = G.synthesis(ws, None, noise_mode="const")
    path = tmp_path / "drawn.png"
    from ganstudio.imaging import to_uint8
    Image.fromarray(to_uint8(img)[0]).save(path)
    return G, ws[0], path


def _encoder_file(tmp_path, G, ws, name="enc.safetensors"):
    """An encoder whose guess is ``ws`` whatever the image (zero weights, the head's bias set)."""
    from ganstudio.engine.inversion_encoder import encoder_for_generator, save_encoder
    enc = encoder_for_generator(G)
    with torch.no_grad():
        enc.head.bias.copy_((ws - enc.w_avg).flatten())
    return save_encoder(tmp_path / name, enc, {})


def test_start_flag_and_encoder_file(tmp_path, capsys):
    G, ws, image = _tiny_sg2_and_image(tmp_path)
    enc = _encoder_file(tmp_path, G, ws)
    out = tmp_path / "l.npz"
    assert main(["project", str(image), "--model", SG2, "--steps", "2", "--encoder", str(enc), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "from the encoder start" in err
    start_db = float(err.split("from the encoder start, ")[1].split(" dB")[0])
    assert start_db > 35  # the guess is the image's own ws (the PNG rounds the pixels)
    assert main(["project", str(image), "--model", SG2, "--steps", "2", "--start", "mean", "--out", str(out)]) == 0
    assert "from the mean start" in capsys.readouterr().err
    # the tiny registry model ships no encoder: the default start is the mean latent
    assert main(["project", str(image), "--model", SG2, "--steps", "2", "--out", str(out)]) == 0
    assert "from the mean start" in capsys.readouterr().err


def test_shipped_model_starts_from_its_encoder_unless_told(tmp_path, capsys, monkeypatch):
    from ganstudio.engine import projection
    starts = []
    real = projection.project

    def spy(G, target, **kw):
        starts.append(kw.get("encoder") is not None)
        return real(G, target, **kw)
    monkeypatch.setattr(projection, "project", spy)
    photo = tmp_path / "p.png"
    Image.fromarray((np.random.RandomState(0).rand(28, 28) * 255).astype(np.uint8), "L").save(photo)
    for extra in ([], ["--start", "mean"], ["--space", "z"]):
        assert main(["project", str(photo), "--model", "fmnist-stylegan2", "--steps", "1", "--out",
                     str(tmp_path / "l.npy")] + extra) == 0
    assert starts == [True, False, False]


def test_bad_encoder_arguments_are_one_line(tmp_path, capsys):
    G, ws, image = _tiny_sg2_and_image(tmp_path)
    from ganstudio.models import create_generator, get_spec
    other = create_generator("stylegan2", **{**get_spec("stylegan2").tiny, "img_resolution": 8})
    cases = [(["--encoder", str(tmp_path / "none.safetensors")], "--encoder: "),
             (["--encoder", str(_encoder_file(tmp_path, G, ws)), "--start", "mean"], "contradict"),
             (["--encoder", str(_encoder_file(tmp_path, other, torch.zeros(other.num_ws, other.w_dim), "o.safetensors"))],
              "the encoder is for")]
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"junk" * 10)
    cases.append((["--encoder", str(junk)], "--encoder: "))
    cases.append((["--encoder", str(junk), "--space", "z"], "only starts w / w+"))  # was ignored: rc 0
    for extra, words in cases:
        assert main(["project", str(image), "--model", SG2, "--steps", "1", "--out", str(tmp_path / "l.npy")]
                    + extra) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert words in err[-1] and err[-1].startswith("ganstudio project: error:") and "Traceback" not in err, err
    assert not (tmp_path / "l.npy").exists()
