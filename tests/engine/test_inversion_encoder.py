"""The projector's start (engine/inversion_encoder.py, training/encoder_trainer.py): training helps, project()
starts from the guess, files load safely."""
import hashlib
import json
import struct

import pytest
import torch

from ganstudio.engine.inversion_encoder import (EncoderError, InversionEncoder, encoder_for_generator, load_encoder,
                                                save_encoder, shipped_encoder_path)
from ganstudio.engine.projection import ProjectionError, project, psnr
from ganstudio.training.encoder_trainer import EncoderRecipe, generated_pairs, start_quality, train_encoder


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # see tests/engine/test_projection.py
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def sg2():
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator("stylegan2", **get_spec("stylegan2").tiny).eval().requires_grad_(False)
    return G


def _known(G, seed=7):
    """(image [C, H, W], its ws [num_ws, w_dim]) drawn from a known z with const noise."""
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        ws = G.mapping(z, None)
        return G.synthesis(ws, None, noise_mode="const")[0], ws[0]


def _pointing_at(G, ws):
    """An encoder whose guess is ``ws`` for every image (zero weights, the head's bias set)."""
    enc = encoder_for_generator(G)
    with torch.no_grad():
        enc.head.bias.copy_((ws - enc.w_avg).flatten())
    return enc.eval()


def test_a_briefly_trained_encoder_starts_closer_than_the_mean_latent(sg2):
    torch.manual_seed(0)
    enc = train_encoder(sg2, encoder_for_generator(sg2), EncoderRecipe(steps=60, batch=16, real_batch=0, lr=2e-3))
    assert enc.steps_done == 60 and not enc.training
    held_out, _ = generated_pairs(sg2, 24, 0.0, torch.Generator().manual_seed(123), "cpu")
    q = start_quality(sg2, enc, held_out)
    assert q["encoder_psnr"] > q["mean_psnr"] + 1.0, q


def test_training_uses_real_images_through_the_generator(sg2):
    real = torch.rand(8, sg2.img_channels, sg2.img_resolution, sg2.img_resolution,
                      generator=torch.Generator().manual_seed(1)) * 2 - 1
    seen = []
    torch.manual_seed(0)
    train_encoder(sg2, encoder_for_generator(sg2), EncoderRecipe(steps=3, batch=4, real_batch=4), real,
                  progress=seen.append)
    assert [s.step for s in seen] == [3] and seen[0].recon_loss > 0


def test_project_starts_from_the_encoders_guess(sg2):
    target, ws = _known(sg2)
    res = project(sg2, target, space="w+", steps=1, encoder=_pointing_at(sg2, ws))
    assert res.start == "encoder" and res.start_psnr > 60  # the guess is the image's own ws
    plain = project(sg2, target, space="w+", steps=1)
    assert plain.start == "mean" and plain.start_psnr < 25
    assert res.psnr > plain.psnr + 10


def test_w_space_starts_from_the_mean_of_the_guessed_rows(sg2):
    target, ws = _known(sg2, seed=11)
    res = project(sg2, target, space="w", steps=1, encoder=_pointing_at(sg2, ws[:1].expand_as(ws)))
    assert res.start == "encoder" and res.start_psnr > 60


def test_a_misleading_guess_falls_back_to_the_mean_and_z_ignores_the_encoder(sg2):
    target, ws = _known(sg2, seed=4)
    far = _pointing_at(sg2, ws + 40.0)
    assert project(sg2, target, space="w+", steps=1, encoder=far).start == "mean"
    assert project(sg2, target, space="z", steps=1, encoder=far).start == "mean"


def test_an_encoder_for_another_geometry_is_refused(sg2, tiny_models):
    G, _ = tiny_models("stylegan2", img_resolution=8)
    target, _ = _known(sg2)
    with pytest.raises(ProjectionError, match="encoder is for"):
        project(sg2, target, space="w+", steps=1, encoder=encoder_for_generator(G))


def test_file_round_trip(sg2, tmp_path):
    torch.manual_seed(3)
    enc = encoder_for_generator(sg2)
    with torch.no_grad():
        enc.head.weight.normal_(0, 0.01)
    path = save_encoder(tmp_path / "e.safetensors", enc, {"generator": {"name": "tiny"}})
    loaded = load_encoder(path)
    x = torch.rand(2, sg2.img_channels, sg2.img_resolution, sg2.img_resolution) * 2 - 1
    assert torch.equal(loaded.net(x), enc.eval()(x))
    assert loaded.meta["generator"] == {"name": "tiny"} and not loaded.net.training


def _write_raw(path, meta_value, tensors=None):
    """A safetensors file with our metadata key set to ``meta_value`` (a str) and the given tensors."""
    from safetensors.torch import save
    path.write_bytes(save(tensors or {"x": torch.zeros(1)}, metadata={"ganstudio_encoder": meta_value}))
    return path


def test_bad_files_are_one_line_errors(sg2, tmp_path):
    good = save_encoder(tmp_path / "good.safetensors", encoder_for_generator(sg2), {})
    meta = json.loads(_header_meta(good))
    cases = {
        "missing": tmp_path / "nope.safetensors",
        "folder": tmp_path,
        "garbage": tmp_path / "g.safetensors",
        "pickle": tmp_path / "p.safetensors",
        "not ours": _write_raw(tmp_path / "n.safetensors", json.dumps({"format": "other"})),
        "bad json": _write_raw(tmp_path / "j.safetensors", "{not json"),
        "huge config": _write_raw(tmp_path / "h.safetensors", json.dumps(
            {**meta, "config": {**meta["config"], "w_dim": 10 ** 9}})),
        "unknown field": _write_raw(tmp_path / "u.safetensors", json.dumps(
            {**meta, "config": {**meta["config"], "exec": "rm"}})),
        "newer": _write_raw(tmp_path / "v.safetensors", json.dumps({**meta, "format_version": 99})),
        "no weights": _write_raw(tmp_path / "w.safetensors", json.dumps(meta)),
    }
    cases["garbage"].write_bytes(b"\x00" * 64)
    torch.save({"a": 1}, cases["pickle"])
    for name, path in cases.items():
        with pytest.raises(EncoderError) as e:
            load_encoder(path)
        assert "\n" not in str(e.value), name


def _header_meta(path):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n])["__metadata__"]["ganstudio_encoder"]


def test_non_finite_weights_are_refused(sg2, tmp_path):
    enc = encoder_for_generator(sg2)
    with torch.no_grad():
        enc.head.bias[0] = float("nan")
    path = save_encoder(tmp_path / "nan.safetensors", enc, {})
    with pytest.raises(EncoderError, match="NaN"):
        load_encoder(path)


@pytest.mark.parametrize("name", ["fmnist-stylegan2", "shapes-stylegan2"])
def test_shipped_models_name_an_encoder_made_for_them(name):
    from ganstudio.engine.renderer import load_model
    from ganstudio.pretrained import resolve
    path = shipped_encoder_path(name)
    assert path is not None and shipped_encoder_path(str(resolve(name))) == path  # by name and by file
    loaded = load_encoder(path)
    assert loaded.meta["generator"]["sha256"] == hashlib.sha256(resolve(name).read_bytes()).hexdigest()
    G, _ = load_model(name, torch.device("cpu"), prepare=False)
    target, _ = _known(G, seed=1)
    res = project(G, target, space="w+", steps=1, encoder=loaded.net)  # fits the generator
    assert res.start == "encoder" and res.start_psnr > psnr(G.synthesis(
        loaded.net.w_avg.reshape(1, 1, -1).expand(1, G.num_ws, -1), None, noise_mode="const")[0], target)


def test_models_without_an_encoder_have_none():
    assert shipped_encoder_path("fmnist-dcgan") is None and shipped_encoder_path("no-such-model") is None


def test_encoder_reads_only_its_geometry(sg2):
    enc = encoder_for_generator(sg2)
    with pytest.raises(EncoderError, match="reads"):
        enc(torch.zeros(1, 1, 8, 8))
    assert isinstance(enc, InversionEncoder)
