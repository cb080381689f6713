"""The emoji group classifier: its recipe on colour images, metrics through it, `ganstudio eval` choosing it."""
import json
import math

import pytest
import torch

from ganstudio.training import classifier as C
from ganstudio.training import metrics as M
from ganstudio.training.emoji import GROUPS


def _tiny_classifier(path, resolution=64):
    """A classifier of the emoji kind (RGB, 9 groups) trained for one epoch on random images, with stats."""
    g = torch.Generator().manual_seed(0)
    x = torch.rand(72, 3, resolution, resolution, generator=g) * 2 - 1
    y = torch.arange(72) % 9
    cfg = C.ClassifierConfig(in_channels=3, resolution=resolution, widths=(4, 4, 4, 4), feature_dim=8, num_classes=9)
    recipe = C.TrainRecipe(epochs=1, batch=24, shift=2, pad_value=1.0)
    net = C.train_classifier(x, y, recipe, cfg, log=lambda *a: None)
    feats = torch.cat([f for f, _ in C.feature_batches(net, x)])
    mu, sigma = M.feature_stats(feats)
    meta = {"classes": GROUPS, "test_accuracy": 0.5, "stats": {"n": 72, "pr_n": 72, "pr_k": 3},
            "reference": {"n": 8, "fcd_test_vs_train": 1.0, "precision_test_vs_train": 0.5,
                          "recall_test_vs_train": 0.5}}
    return C.save_classifier(path, net, meta, {"mu": mu.double(), "sigma": sigma.double(),
                                               "pr_features": feats.half()})


def test_colour_input_keeps_colour_and_grey_is_repeated():
    rgb = torch.rand(2, 3, 32, 32) * 2 - 1
    x = M.to_classifier_input(rgb, 64, 3)
    assert x.shape == (2, 3, 64, 64)
    grey = torch.rand(2, 1, 16, 16) * 2 - 1
    g3 = M.to_classifier_input(grey, 16, 3)
    assert g3.shape == (2, 3, 16, 16) and torch.equal(g3[:, 0], g3[:, 2])
    assert M.to_classifier_input(rgb).shape == (2, 1, 32, 32)  # the grey classifier's input is unchanged


def test_metrics_through_a_colour_classifier_with_the_emoji_groups(tmp_path):
    from ganstudio.models import create_generator, get_spec
    path = _tiny_classifier(tmp_path / "clf.safetensors")
    G = create_generator("cgan", **{**get_spec("cgan").tiny, "c_dim": 9, "img_channels": 3, "img_resolution": 32})
    r = M.evaluate_generator(G, n=36, batch=12, classifier_path=path, class_names=GROUPS)
    assert math.isfinite(r["fcd"]) and 0 <= r["class_accuracy"] <= 1 and r["pr_samples"] == 36
    wrong = M.evaluate_generator(G, n=18, batch=9, classifier_path=path, class_names=[f"c{i}" for i in range(9)])
    assert wrong["class_accuracy"] is None and "Smileys & Emotion" in wrong["class_accuracy_note"]


def test_eval_measures_an_emoji_model_with_the_emoji_classifier(tmp_path, capsys, monkeypatch):
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.cli import main
    from ganstudio.models import create_generator
    monkeypatch.setattr(C, "EMOJI_PATH", _tiny_classifier(tmp_path / "emoji_clf.safetensors"))
    G = create_generator("dcgan", z_dim=8, img_resolution=16, img_channels=3, ngf=8, ndf=8)
    path = save_checkpoint(tmp_path / "e.safetensors", G, training={"data": "emoji-base"})
    assert main(["eval", str(path), "--n", "24", "--batch", "12", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert "note" not in r and math.isfinite(r["fcd"]) and r["reference"]["fcd_test_vs_train"] == 1.0
    assert "64 px RGB" in r["resized_note"] and "emoji group classifier" in r["data_note"]
    assert main(["eval", str(path), "--n", "24", "--batch", "12"]) == 0
    assert "real test vs train, n=8" in capsys.readouterr().out
    # Other colour data is still refused without --force (it was before the emoji classifier existed).
    other = save_checkpoint(tmp_path / "s.safetensors", G, training={"data": "shapes"})
    assert main(["eval", str(other), "--n", "24"]) == 0
    assert "only defined for" in capsys.readouterr().out


def test_the_emoji_recipe_runs_end_to_end_on_a_few_glyphs(tmp_path, capsys):
    from ganstudio.training.emoji import missing_sources
    if missing_sources():
        pytest.skip(f"emoji sources not installed: {missing_sources()}")
    out = tmp_path / "emoji_clf.safetensors"
    assert C.main(["--data", "emoji", "--limit", "90", "--epochs", "1", "--out", str(out)]) == 0
    clf = C.load_classifier(out)
    assert clf.class_names == GROUPS and clf.net.cfg.in_channels == 3 and clf.net.cfg.resolution == 64
    ref = clf.meta["reference"]
    assert ref["n"] > 300 and ref["fcd_test_vs_train"] > 0 and 0 <= ref["recall_test_vs_train"] <= 1
    assert clf.stats["pr_features"].shape == (90, 128) and 0 <= clf.test_accuracy <= 1


def test_shipped_emoji_classifier_matches_its_manifest_entry():
    if not C.EMOJI_PATH.is_file():
        pytest.skip("the emoji classifier is not shipped")
    clf = C.load_classifier(C.EMOJI_PATH)
    manifest = json.loads((C.EMOJI_PATH.parent / "manifest.json").read_text())
    entry = manifest["emoji_classifier"]
    assert entry["file"] == C.EMOJI_PATH.name and entry["test_accuracy"] == clf.test_accuracy
    assert clf.class_names == GROUPS and entry["classes"] == GROUPS
    assert clf.test_accuracy > 0.6  # held-out glyphs: far above the 0.59 of always answering People & Body
