"""The shipped models: every manifest entry loads, renders, stays small and reproduces its recorded check metric.

The check metric (pretrained/manifest.json, "check") was computed by scripts/train_pretrained.py
on the shipped file with a small fixed-seed sample (n=500, seed 0, CPU): FCD with the
Fashion-MNIST classifier, or for the shapes models the Fréchet distance of 8x8 pooled pixels.
Recomputing it here must agree within the recorded relative tolerance (2%): only thread-count
rounding differs between the two runs, so a larger gap means the file, the model code or the
metric changed.
"""
from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

import pytest
import torch

from ganstudio import pretrained
from ganstudio.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 8 * 1024 * 1024
REQUIRED = ("name", "family", "model", "file", "data", "classes", "resolution", "channels", "command",
            "steps", "wall_time_s", "device", "metrics", "paper", "grid", "default", "check")

MANIFEST = json.loads(pretrained.MANIFEST.read_text()) if pretrained.MANIFEST.is_file() else {"models": []}
ENTRIES = MANIFEST.get("models", [])
IDS = [e.get("name", "?") for e in ENTRIES]


@functools.lru_cache(maxsize=None)
def _script():
    spec = importlib.util.spec_from_file_location("train_pretrained", ROOT / "scripts" / "train_pretrained.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_manifest_is_not_empty_and_readable():
    assert ENTRIES, "pretrained/manifest.json lists no models"
    names = [e["name"] for e in pretrained.read_manifest()]
    assert names == IDS  # the app's reader sees every entry
    assert len(set(names)) == len(names)
    assert [e["name"] for e in pretrained.list_pretrained()] == names  # every file is present


def test_exactly_one_default_and_the_app_opens_it():
    defaults = [e["name"] for e in ENTRIES if e.get("default")]
    assert len(defaults) == 1
    assert pretrained.default_model() == defaults[0]


def test_classifier_is_kept_out_of_the_model_list():
    assert all(e.get("kind", "generator") != "classifier" for e in ENTRIES)
    clf = MANIFEST.get("classifier")
    if clf is not None:
        assert (pretrained.PRETRAINED_DIR / clf["file"]).is_file()


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_fields_file_size_and_grid(entry):
    missing = [k for k in REQUIRED if k not in entry]
    assert not missing, f"{entry['name']}: manifest fields missing: {missing}"
    path = pretrained.PRETRAINED_DIR / entry["file"]
    assert path.stat().st_size <= MAX_BYTES, f"{path} is over 8 MB"
    assert (ROOT / entry["grid"]).is_file()
    assert entry["command"].startswith("ganstudio train ")
    assert entry["steps"] > 0 and entry["wall_time_s"] > 0
    m = entry["metrics"]
    key = entry["check"]["metric"]
    assert m[key] < m[key + "_untrained"], "the trained model must beat its untrained self"
    if entry["classes"]:
        assert 0 <= m["class_accuracy"] <= 1


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_loads_renders_and_reproduces_its_check_metric(entry):
    torch.manual_seed(0)
    ckpt = load_checkpoint(pretrained.resolve(entry["name"]))
    G = ckpt.G.float().eval()
    assert not ckpt.meta.get("has_D") and ckpt.D is None  # shipped files hold G only
    assert ckpt.meta["model"] == entry["model"]
    assert (G.img_resolution, G.img_channels) == (entry["resolution"], entry["channels"])
    assert ckpt.class_names == entry["classes"] and G.c_dim == len(entry["classes"])
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(1))
    c = torch.eye(G.c_dim)[torch.arange(4) % G.c_dim] if G.c_dim else None
    with torch.no_grad():
        img = G(z, c)
    assert img.shape == (4, entry["channels"], entry["resolution"], entry["resolution"])
    assert torch.isfinite(img).all() and img.min() >= -1 and img.max() <= 1
    assert img.std() > 0.05, "renders a flat image"

    chk = entry["check"]
    fmnist = entry["data"] == "fashion-mnist"
    if fmnist:
        from ganstudio.training.classifier import DEFAULT_PATH
        if not DEFAULT_PATH.is_file():
            pytest.skip("the Fashion-MNIST classifier is not shipped")
    value = _script().evaluate(G, entry["data"], ckpt.class_names or None, chk["n"], chk["seed"])[chk["metric"]]
    assert value == pytest.approx(chk["value"], rel=chk["rtol"]), (
        f"{entry['name']}: {chk['metric']} on n={chk['n']} is {value:.4f}, recorded {chk['value']:.4f}")
