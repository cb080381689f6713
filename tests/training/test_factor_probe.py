"""The shapes factor probe (training/factor_probe.py): target coding, input handling, hostile files, the
recipe's determinism, and the shipped probe's held-out accuracy as the manifest states it."""
import json

import numpy as np
import pytest
import torch

from ganstudio.training import factor_probe as fp
from ganstudio.training.shapes import FACTOR_NAMES, render_shapes, sample_factors


def test_targets_decode_back_to_the_factors():
    factors = sample_factors(50, 3, "train", "shapes")
    labels, reg, mask = fp.encode_targets(factors)
    out = torch.cat([torch.nn.functional.one_hot(labels, 4).float() * 20, reg], 1)
    pred = fp.decode_outputs(out)
    np.testing.assert_allclose(pred.factors[:, 0], factors[:, 0])
    for j, name in enumerate(FACTOR_NAMES[1:], start=1):
        np.testing.assert_allclose(pred.factors[:, j], factors[:, j], atol=1e-5, err_msg=name)
    assert mask.tolist() == (factors[:, 0] != fp.CIRCLE).tolist()


def test_rotation_is_coded_modulo_the_squares_period():
    f = sample_factors(2, 0, "train", "shapes")
    f[:, 4] = [-45.0, 45.0]  # the same square
    _, reg, _ = fp.encode_targets(f)
    np.testing.assert_allclose(reg[0, fp._REG["rotation"]], reg[1, fp._REG["rotation"]], atol=1e-6)


def test_inputs_accept_both_layouts_and_resize_but_refuse_grey():
    imgs = render_shapes(sample_factors(3, 0, "train", "shapes"), 64)  # [N, 3, 64, 64]
    a = fp.images_to_input(imgs)
    b = fp.images_to_input(imgs.transpose(0, 2, 3, 1))
    assert a.shape == (3, 3, 32, 32) and torch.equal(a, b) and float(a.min()) >= -1 and float(a.max()) <= 1
    with pytest.raises(fp.ProbeError, match="RGB"):
        fp.images_to_input(np.zeros((2, 32, 32, 1), np.uint8))
    with pytest.raises(fp.ProbeError, match="batch"):
        fp.images_to_input(np.zeros((32, 32, 3), np.uint8))


def test_the_recipe_is_deterministic():
    recipe = fp.ProbeRecipe(epochs=1, per_variant=128, batch=64)
    torch.set_num_threads(1)
    a = fp.train_probe(recipe, log=lambda _: None).state_dict()
    b = fp.train_probe(recipe, log=lambda _: None).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_hostile_or_foreign_files_are_refused_in_one_line(tmp_path):
    from safetensors.torch import save_file
    with pytest.raises(fp.ProbeError, match="not found"):
        fp.load_probe(tmp_path / "none.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(fp.ProbeError, match="not a readable safetensors"):
        fp.load_probe(junk)
    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other), metadata={"x": "1"})
    with pytest.raises(fp.ProbeError, match="not a GAN Studio factor probe"):
        fp.load_probe(other)
    huge = tmp_path / "huge.safetensors"
    meta = {"format": fp.FORMAT, "format_version": 1, "config": {"resolution": 32, "widths": [10 ** 6], "hidden": 8}}
    save_file({"net.x": torch.zeros(1)}, str(huge), metadata={fp.META_KEY: json.dumps(meta)})
    with pytest.raises(fp.ProbeError, match="out of range"):
        fp.load_probe(huge)
    newer = tmp_path / "newer.safetensors"
    save_file({"net.x": torch.zeros(1)}, str(newer), metadata={fp.META_KEY: json.dumps({**meta, "format_version": 99})})
    with pytest.raises(fp.ProbeError, match="newer"):
        fp.load_probe(newer)


def test_a_saved_probe_loads_back_and_predicts_the_same(tmp_path):
    torch.manual_seed(0)
    net = fp.FactorProbe().eval()
    path = fp.save_probe(tmp_path / "p.safetensors", net, {"held_out": {}})
    loaded = fp.load_probe(path)
    imgs = render_shapes(sample_factors(4, 0, "test", "shapes"), 32).transpose(0, 2, 3, 1)
    a = fp.LoadedProbe(net.requires_grad_(False), {}).predict(imgs)
    b = loaded.predict(imgs)
    np.testing.assert_array_equal(a.factors, b.factors)


def test_the_shipped_probe_meets_its_manifest_entry():
    from ganstudio.pretrained import MANIFEST
    entry = json.loads(MANIFEST.read_text())["factor_probe"]
    probe = fp.load_probe()
    assert entry["held_out"] == probe.meta["held_out"]
    for variant in fp.VARIANTS:
        held = entry["held_out"][variant]
        assert held["shape_accuracy"] >= 0.95, held
        for name, r2 in held["r2"].items():
            assert r2 is None if (name == "rotation" and variant == "shapes-upright") else r2 >= 0.9, (variant, name, r2)
    # a smaller fresh evaluation agrees with the stored one
    again = fp.held_out_scores(probe, "shapes", n=400)
    assert abs(again["shape_accuracy"] - entry["held_out"]["shapes"]["shape_accuracy"]) < 0.05
    for name, r2 in again["r2"].items():
        assert abs(r2 - entry["held_out"]["shapes"]["r2"][name]) < 0.05, name
