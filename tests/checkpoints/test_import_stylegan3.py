"""NVIDIA StyleGAN3 pickles: imported through the restricted unpickler, refused when hostile or unrepresentable.

The pickles are written the way NVIDIA's training loop writes them (``pickle.dump`` of a dict whose
networks are ``torch_utils.persistence`` records: module source, state with the recorded layer
attributes, init kwargs), from our own StyleGAN3 generator standing in for NVIDIA's classes.
Parity with NVIDIA's actual code is checked outside the repository (see the README).
"""
import collections
import dataclasses
import os
import pickle
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn

from ganstudio.checkpoints import CheckpointError, load_checkpoint
from ganstudio.checkpoints.importers import convert_foreign
from ganstudio.checkpoints.importers._unpickle import load_pickle
from ganstudio.cli import main
from ganstudio.models import create_generator, tiny_config
from ganstudio.models.stylegan3 import make_input_transform

TOL = 1e-5


@pytest.fixture
def nv(monkeypatch):
    """Importable stand-ins for torch_utils.persistence and dnnlib.util, so that pickle can name them."""
    tu, pers = types.ModuleType("torch_utils"), types.ModuleType("torch_utils.persistence")
    dn, util = types.ModuleType("dnnlib"), types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # never called by the loader under test
        raise AssertionError("the importer must not call the pickled reconstructor")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    pers._reconstruct_persistent_obj = _reconstruct_persistent_obj
    util.EasyDict = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})
    tu.persistence, dn.util = pers, util
    for name, mod in [("torch_utils", tu), ("torch_utils.persistence", pers), ("dnnlib", dn), ("dnnlib.util", util)]:
        monkeypatch.setitem(sys.modules, name, mod)
    return types.SimpleNamespace(fn=_reconstruct_persistent_obj, EasyDict=util.EasyDict)


class _Record:
    """Pickles like a persistent_class instance: (_reconstruct_persistent_obj, (meta,))."""

    def __init__(self, fn, meta):
        self.fn, self.meta = fn, meta

    def __reduce__(self):
        return self.fn, (self.meta,)


_NV_NAMES = {"StyleGAN3Generator": "Generator"}


def _nv_attrs(m: nn.Module) -> dict:
    """The plain attributes NVIDIA's classes record (numpy scalars and arrays where theirs are)."""
    kind = type(m).__name__
    if kind == "SynthesisLayer":
        s = m.spec
        return dict(is_torgb=s.is_torgb, is_critically_sampled=s.is_critically_sampled,
                    in_size=np.array([s.in_size] * 2), out_size=np.array([s.out_size] * 2),
                    in_sampling_rate=s.in_sampling_rate, out_sampling_rate=s.out_sampling_rate,
                    tmp_sampling_rate=s.in_sampling_rate * m.up_factor, in_cutoff=np.array(s.in_cutoff),
                    out_cutoff=np.array(s.out_cutoff), in_half_width=np.array(s.in_half_width),
                    out_half_width=np.array(s.out_half_width), conv_kernel=m.conv_kernel, conv_clamp=m.conv_clamp,
                    magnitude_ema_beta=m.magnitude_ema_beta, up_factor=m.up_factor, down_factor=m.down_factor,
                    padding=list(m.padding), down_radial=m.down_radial)
    if kind == "SynthesisNetwork":
        cfg = m.cfg_for_test
        return dict(num_layers=cfg.num_layers, num_critical=cfg.num_critical, margin_size=cfg.margin_size,
                    output_scale=cfg.output_scale, layer_names=list(m.layer_names), img_resolution=m.img_resolution)
    if kind == "SynthesisInput":
        return dict(channels=m.channels, size=np.array([m.size] * 2), sampling_rate=np.array(m.sampling_rate),
                    bandwidth=np.array(m.bandwidth))
    if kind == "FullyConnectedLayer":
        return dict(weight_gain=np.float64(m.weight_gain), bias_gain=m.bias_gain)
    if kind == "MappingNetwork":
        return dict(num_layers=m.num_layers, w_avg_beta=m.w_avg_beta)
    return {k: getattr(m, k) for k in ("z_dim", "w_dim", "c_dim", "img_resolution", "img_channels", "num_ws")
            if hasattr(m, k)}


def _as_record(m: nn.Module, nv, marker: str, init_kwargs=None, extra=None):
    state = {"training": False, "_parameters": collections.OrderedDict(m._parameters),
             "_buffers": collections.OrderedDict(m._buffers), "_non_persistent_buffers_set": set(),
             "_modules": collections.OrderedDict((k, _as_record(c, nv, marker)) for k, c in m._modules.items()),
             "_init_args": (), "_init_kwargs": nv.EasyDict(init_kwargs or {}), **_nv_attrs(m), **(extra or {})}
    # Real pickles carry the module source; it must never be executed on import.
    src = f"import pathlib\npathlib.Path({marker!r}).write_text('executed')\n"
    name = _NV_NAMES.get(type(m).__name__, type(m).__name__)
    return _Record(nv.fn, dict(type="class", version=6, module_src=src, class_name=name, state=state))


def _source(name, **over):
    torch.manual_seed(0)
    G = create_generator(name, tiny_config(name, **over)).eval()
    G.synthesis.cfg_for_test = G.config
    with torch.no_grad():  # zero biases, unit magnitudes and an identity input would hide mapping mistakes
        for n, p in G.named_parameters():
            if n.endswith(".bias") or n.endswith("input.affine.weight"):
                p.add_(0.3 * torch.randn(p.shape))
        G.mapping.w_avg.normal_()
        for layer in G.synthesis.layers():
            layer.magnitude_ema.fill_(float(torch.rand([])) + 0.5)
    return G


def _write(path, G, nv, marker, kind="G_ema"):
    cfg = G.config
    kwargs = dict(z_dim=cfg.z_dim, c_dim=cfg.c_dim, w_dim=cfg.w_dim, img_resolution=cfg.img_resolution,
                  img_channels=cfg.img_channels, mapping_kwargs=nv.EasyDict(num_layers=cfg.mapping_layers),
                  channel_base=cfg.channel_base, channel_max=cfg.channel_max, conv_kernel=cfg.conv_kernel,
                  use_radial_filters=cfg.use_radial_filters, magnitude_ema_beta=cfg.magnitude_ema_beta,
                  num_layers=cfg.num_layers, margin_size=cfg.margin_size, conv_clamp=cfg.conv_clamp)
    g = _as_record(G, nv, marker, kwargs)
    with open(path, "wb") as f:
        pickle.dump({"G": g, "D": None, kind: g, "augment_pipe": None,
                     "training_set_kwargs": nv.EasyDict(resolution=cfg.img_resolution)}, f)
    return path


def _render(G, z, c, psi, transform=None):
    with torch.no_grad():
        return G.synthesis(G.mapping(z, c, truncation_psi=psi), c, input_transform=transform, clamp=False)


def _g_fields(cfg) -> dict:
    """The generator's part of a config (an imported G has no D to describe)."""
    return {k: v for k, v in dataclasses.asdict(cfg).items() if not k.startswith(("d_", "mbstd"))}


CASES = {
    "t": ("stylegan3-t", {}),
    "r": ("stylegan3-r", {}),
    "t-conditional-gray-unclamped": ("stylegan3-t", dict(c_dim=3, img_channels=1, mapping_layers=3, conv_clamp=None,
                                                          img_resolution=32, num_layers=5, margin_size=6)),
}


@pytest.mark.parametrize("case", CASES)
def test_nvidia_stylegan3_pickle_imports_with_parity(tmp_path, nv, case):
    name, over = CASES[case]
    marker = str(tmp_path / "source-was-executed")
    src = _source(name, **over)
    pkl = _write(tmp_path / "network-snapshot-000040.pkl", src, nv, marker)
    G, meta, mod = convert_foreign(pkl)
    assert mod.NAME == "stylegan3-nvidia" and not os.path.exists(marker)
    assert G.model_name == name and _g_fields(G.config) == _g_fields(src.config)
    assert meta["details"]["configuration"] == name[-1].upper()
    z = torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(1))
    c = torch.eye(G.c_dim)[[0, 2, 1]] if G.c_dim else None
    for psi, t in [(1.0, None), (0.5, None), (1.0, make_input_transform((0.1, -0.05), 20.0))]:
        assert (_render(src, z, c, psi, t) - _render(G, z, c, psi, t)).abs().max() <= TOL, (psi, t)


def test_the_recorded_input_transform_comes_along(tmp_path, nv):
    src = _source("stylegan3-t")
    src.set_input_transform((0.2, 0.1), 45.0)  # what NVIDIA's visualizer leaves in the buffer
    G, _, _ = convert_foreign(_write(tmp_path / "moved.pkl", src, nv, str(tmp_path / "m")))
    z = torch.randn(2, G.z_dim)
    assert (_render(src, z, None, 1.0) - _render(G, z, None, 1.0)).abs().max() <= TOL
    assert not torch.equal(G.synthesis.input.transform, torch.eye(3))


def test_cli_imports_a_stylegan3_pickle(tmp_path, nv, capsys):
    pkl = _write(tmp_path / "stylegan3-r-tiny.pkl", _source("stylegan3-r"), nv, str(tmp_path / "m"))
    dst = tmp_path / "out.safetensors"
    assert main(["import", str(pkl), "--out", str(dst)]) == 0
    ck = load_checkpoint(dst)
    assert ck.model_name == "stylegan3-r" and ck.G.capabilities().input_transform
    assert ck.meta["extra"]["imported"]["importer"] == "stylegan3-nvidia"
    assert "StyleGAN2 networks only" not in capsys.readouterr().err


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_hostile_stylegan3_pickle_is_refused_and_never_runs(tmp_path, nv, capsys):
    marker = tmp_path / "pwned"
    src = _source("stylegan3-t")
    rec = _as_record(src, nv, str(tmp_path / "m"), extra={})
    layer = rec.meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"][src.synthesis.layer_names[1]]
    layer.meta["state"]["magnitude_ema_beta"] = _Evil(marker)  # a payload deep inside a layer record
    pkl = tmp_path / "evil-stylegan3.pkl"
    with open(pkl, "wb") as f:
        pickle.dump({"G_ema": rec}, f)
    with pytest.raises(CheckpointError, match=r"refused to unpickle.*system"):
        load_pickle(pkl)
    with pytest.raises(CheckpointError, match="refused"):
        convert_foreign(pkl)
    assert main(["import", str(pkl), "--out", str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refused" in err[0]
    assert not marker.exists() and not (tmp_path / "x.safetensors").exists()


def _tampered(tmp_path, nv, edit):
    src = _source("stylegan3-t")
    rec = _as_record(src, nv, str(tmp_path / "m"))
    edit(rec, src)
    pkl = tmp_path / "tampered.pkl"
    with open(pkl, "wb") as f:
        pickle.dump({"G_ema": rec}, f)
    return pkl


def _layer_state(rec, name):
    return rec.meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"][name].meta["state"]


def test_a_frequency_plan_we_cannot_reproduce_is_refused(tmp_path, nv):
    def edit(rec, src):
        _layer_state(rec, src.synthesis.layer_names[1])["out_cutoff"] = np.array(3.3)
    with pytest.raises(CheckpointError, match=r"out_cutoff is 3.3 .* cannot represent"):
        convert_foreign(_tampered(tmp_path, nv, edit))


def test_missing_layers_and_w_avg_are_clear_errors(tmp_path, nv):
    def drop_layer(rec, src):
        del rec.meta["state"]["_modules"]["synthesis"].meta["state"]["_modules"][src.synthesis.layer_names[2]]
    with pytest.raises(CheckpointError, match="not L0_..., L1_..., ... in order"):
        convert_foreign(_tampered(tmp_path, nv, drop_layer))

    def drop_w_avg(rec, src):
        del rec.meta["state"]["_modules"]["mapping"].meta["state"]["_buffers"]["w_avg"]
    with pytest.raises(CheckpointError, match="w_avg"):
        convert_foreign(_tampered(tmp_path, nv, drop_w_avg))


def test_an_inflated_filter_is_refused_before_any_design(tmp_path, nv):
    # 8000 taps would ask for a (8000 x 2)^2 radial design: refused as an invalid configuration instead.
    def edit(rec, src):
        _layer_state(rec, src.synthesis.layer_names[0])["_buffers"]["up_filter"] = torch.ones(8000)
        _layer_state(rec, src.synthesis.layer_names[0])["_buffers"]["down_filter"] = torch.ones(2, 2)
    with pytest.raises(CheckpointError, match="filter_size"):
        convert_foreign(_tampered(tmp_path, nv, edit))
