"""Our checkpoint format: every kind of bad file is a CheckpointError naming the problem; good files round-trip exactly."""
import json
import os
import pickle
import random

import pytest
import torch
from safetensors.torch import save_file

from ganstudio.checkpoints import FORMAT_VERSION, META_KEY, CheckpointError, load_checkpoint, read_meta, save_checkpoint
from ganstudio.models import create_discriminator, create_generator, get_spec, list_models

TINY = dict(z_dim=8, img_resolution=16, ngf=4, ndf=4)


@pytest.fixture
def good(tmp_path):
    torch.manual_seed(0)
    G = create_generator("dcgan", **TINY)
    return save_checkpoint(tmp_path / "good.safetensors", G)


def _parts(path):
    """(tensors, meta) of a checkpoint, to rebuild variants of it."""
    from safetensors.torch import load_file
    return load_file(str(path)), read_meta(path)


def _write(path, tensors, meta=None, raw_meta=None):
    md = {META_KEY: raw_meta if raw_meta is not None else json.dumps(meta)} if (meta or raw_meta) else None
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=md)
    return path


def _fails(path, *patterns):
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(path)
    msg = str(e.value)
    assert "\n" not in msg
    for p in patterns:
        assert p in msg, f"{p!r} not in {msg!r}"
    return msg


def test_missing_file(tmp_path):
    _fails(tmp_path / "nope.safetensors", "no such file")


def test_folder(tmp_path):
    _fails(tmp_path, "folder")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.safetensors"
    p.write_bytes(b"")
    _fails(p, "empty")


def test_tiny_file(tmp_path):
    p = tmp_path / "tiny.safetensors"
    p.write_bytes(b"abc")
    _fails(p, "not a checkpoint")


def test_random_bytes(tmp_path):
    p = tmp_path / "random.safetensors"
    p.write_bytes(random.Random(0).randbytes(5000))
    _fails(p, "not a GAN Studio checkpoint")


def test_text_file(tmp_path):
    p = tmp_path / "notes.safetensors"
    p.write_text("these are not weights\n" * 20)
    _fails(p, "not a GAN Studio checkpoint")


@pytest.mark.parametrize("where", ["length", "header", "data_start", "data_middle", "last_byte"])
def test_truncated(good, tmp_path, where):
    data = good.read_bytes()
    n = int.from_bytes(data[:8], "little")
    cut = {"length": 5, "header": 8 + n // 2, "data_start": 8 + n + 3, "data_middle": (8 + n + len(data)) // 2,
           "last_byte": len(data) - 1}[where]
    p = tmp_path / "cut.safetensors"
    p.write_bytes(data[:cut])
    msg = _fails(p)
    assert any(w in msg for w in ("truncated", "not a checkpoint")), msg


def test_corrupt_header_json(good, tmp_path):
    data = bytearray(good.read_bytes())
    data[9] = ord("#")  # inside the header's JSON
    p = tmp_path / "badheader.safetensors"
    p.write_bytes(bytes(data))
    _fails(p, "corrupt header")


def test_safetensors_without_our_metadata(good, tmp_path):
    tensors, _ = _parts(good)
    _fails(_write(tmp_path / "plain.safetensors", tensors), "without a GAN Studio config", "ganstudio import")


def test_invalid_json_metadata(good, tmp_path):
    tensors, _ = _parts(good)
    _fails(_write(tmp_path / "badjson.safetensors", tensors, raw_meta="{not json"), "not valid JSON")


def test_metadata_of_another_format(good, tmp_path):
    tensors, meta = _parts(good)
    _fails(_write(tmp_path / "other.safetensors", tensors, {**meta, "format": "something-else"}),
           "not a GAN Studio config")


def test_metadata_without_model(good, tmp_path):
    tensors, meta = _parts(good)
    del meta["model"]
    _fails(_write(tmp_path / "nomodel.safetensors", tensors, meta), "'model'")


def test_unknown_model_name(good, tmp_path):
    tensors, meta = _parts(good)
    _fails(_write(tmp_path / "unknown.safetensors", tensors, {**meta, "model": "hypergan-9000"}),
           "unknown model", "hypergan-9000")


def test_invalid_resolution(good, tmp_path):
    tensors, meta = _parts(good)
    meta["config"]["img_resolution"] = 33
    _fails(_write(tmp_path / "res33.safetensors", tensors, meta), "does not describe a valid dcgan", "33")


def test_unknown_config_field(good, tmp_path):
    tensors, meta = _parts(good)
    meta["config"]["wormholes"] = 3
    _fails(_write(tmp_path / "field.safetensors", tensors, meta), "wormholes")


def test_config_not_an_object(good, tmp_path):
    tensors, meta = _parts(good)
    meta["config"] = [1, 2]
    _fails(_write(tmp_path / "cfglist.safetensors", tensors, meta), "not an object")


def test_config_field_of_wrong_type(good, tmp_path):
    tensors, meta = _parts(good)
    meta["config"]["ngf"] = "wide"
    _fails(_write(tmp_path / "type.safetensors", tensors, meta), "dcgan")


def test_missing_tensor(good, tmp_path):
    tensors, meta = _parts(good)
    del tensors["G.main.1.running_var"]
    _fails(_write(tmp_path / "missing.safetensors", tensors, meta), "missing 1 tensor", "main.1.running_var")


def test_unexpected_tensor(good, tmp_path):
    tensors, meta = _parts(good)
    tensors["G.main.99.weight"] = torch.zeros(2)
    _fails(_write(tmp_path / "extra.safetensors", tensors, meta), "unexpected", "main.99.weight")


def test_tensor_outside_our_prefixes(good, tmp_path):
    tensors, meta = _parts(good)
    tensors["optimizer.state"] = torch.zeros(2)
    _fails(_write(tmp_path / "prefix.safetensors", tensors, meta), "optimizer.state")


def test_no_generator_weights(good, tmp_path):
    _, meta = _parts(good)
    _fails(_write(tmp_path / "noG.safetensors", {"extra.step": torch.zeros(1)}, meta), "no generator weights")


def test_wrong_shape(good, tmp_path):
    tensors, meta = _parts(good)
    tensors["G.main.0.weight"] = torch.zeros(8, 3, 4, 4)
    _fails(_write(tmp_path / "shape.safetensors", tensors, meta), "wrong shape", "main.0.weight")


def test_wrong_dtype(good, tmp_path):
    tensors, meta = _parts(good)
    w = tensors["G.main.0.weight"]
    tensors["G.main.0.weight"] = torch.zeros(w.shape, dtype=torch.int32)
    _fails(_write(tmp_path / "dtype.safetensors", tensors, meta), "dtype", "main.0.weight")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights(good, tmp_path, bad):
    tensors, meta = _parts(good)
    tensors["G.main.3.weight"][0, 0, 0, 0] = bad
    _fails(_write(tmp_path / "nan.safetensors", tensors, meta), "NaN or Inf", "main.3.weight")


def test_class_names_that_do_not_fit(good, tmp_path):
    torch.manual_seed(0)
    G = create_generator("biggan-deep", **get_spec("biggan-deep").tiny)
    p = save_checkpoint(tmp_path / "cond.safetensors", G, class_names=[f"k{i}" for i in range(G.c_dim)])
    tensors, meta = _parts(p)
    meta["class_names"] = ["only one"]
    _fails(_write(tmp_path / "names.safetensors", tensors, meta), "class names")


def test_torch_zip_file(good, tmp_path):
    tensors, _ = _parts(good)
    p = tmp_path / "model.safetensors"  # the wrong extension does not fool it
    torch.save(tensors, p)
    _fails(p, "PyTorch/pickle file", "ganstudio import")


def test_pickle_file_is_never_unpickled(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))
    p = tmp_path / "evil.safetensors"
    p.write_bytes(pickle.dumps(Evil(), protocol=2))
    _fails(p, "PyTorch/pickle file")
    assert not marker.exists()


def test_newer_format_version(good, tmp_path):
    tensors, meta = _parts(good)
    meta["format_version"] = FORMAT_VERSION + 1
    _fails(_write(tmp_path / "newer.safetensors", tensors, meta), "newer GAN Studio")


def test_save_refuses_a_generator_built_outside_the_registry(tmp_path):
    G = create_generator("dcgan", **TINY)
    G.model_name = ""
    with pytest.raises(CheckpointError, match="registry"):
        save_checkpoint(tmp_path / "x.safetensors", G)


@pytest.mark.parametrize("name", list_models())
def test_round_trip_is_exact(tmp_path, name, latents):
    spec = get_spec(name)
    torch.manual_seed(0)
    G = create_generator(name, **spec.tiny).eval()
    D = create_discriminator(name, **spec.tiny)
    # Perturb the buffers too (BatchNorm statistics, w_avg...), so that a buffer left out would show;
    # scalar buffers are state such as ProGAN's stage and alpha and keep their values.
    with torch.no_grad():
        for t in list(G.buffers()) + (list(D.buffers()) if D is not None else []):
            if t.is_floating_point() and t.numel() > 1:
                t.add_(0.01 * torch.rand(t.shape) + 0.01)
    if D is not None:
        D.eval()
    names = [f"class {i}" for i in range(G.c_dim)] if G.c_dim else None
    path = save_checkpoint(tmp_path / f"{name}.safetensors", G, D=D, class_names=names,
                           extra_tensors={"step": torch.tensor([7])}, training={"kimg": 1})
    ck = load_checkpoint(path, load_D=True)
    assert ck.model_name == name and ck.meta["training"] == {"kimg": 1}
    assert torch.equal(ck.extra["step"], torch.tensor([7]))
    if names:
        assert ck.class_names == names
    for net, back in ((G, ck.G), (D, ck.D)):  # every tensor, parameters and buffers, bit for bit
        if net is not None:
            assert back is not None and list(back.state_dict()) == list(net.state_dict())
            assert all(torch.equal(v, back.state_dict()[k]) for k, v in net.state_dict().items())
    z, c = latents(G)
    with torch.no_grad():
        a = G(z, c, noise_mode="const")
        b = ck.G(z, c, noise_mode="const")
        assert torch.equal(a, b)
        if D is not None:
            assert ck.D is not None
            x = z if getattr(D, "reads", "image") == "code" else a  # the AAE's D scores codes
            assert torch.equal(D(x, c), ck.D.eval()(x, c))
            (s1, aux1), (s2, aux2) = D.forward_aux(x, c), ck.D.forward_aux(x, c)  # e.g. AC-GAN's class logits
            assert torch.equal(s1, s2) and aux1.keys() == aux2.keys()
            assert all(torch.equal(aux1[k], aux2[k]) for k in aux1 if isinstance(aux1[k], torch.Tensor))
        if G.capabilities().encoder:  # the VAE's encoder is part of the file too
            img = torch.rand(2, G.img_channels, G.img_resolution, G.img_resolution) * 2 - 1
            assert all(torch.equal(x, y) for x, y in zip(G.encode(img), ck.G.encode(img)))
