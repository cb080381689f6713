"""StyleGAN2 importers: NVIDIA persistence pickles and rosinality checkpoints, plus refusal of unsafe files.

The NVIDIA pickle is crafted the way NVIDIA's training loop writes one (``pickle.dump`` of a dict
whose networks are ``torch_utils.persistence`` records carrying module source, state and init
kwargs); the rosinality checkpoint comes from a small reference generator written here in that
repository's layout and its way of computing (transposed conv + blur, scale-before-demodulation).
"""
import argparse
import collections
import math
import os
import pickle
import sys
import types

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.checkpoints import CheckpointError
from ganstudio.checkpoints.importers import convert_foreign, import_file, load_foreign
from ganstudio.checkpoints.importers._unpickle import PersistentObject, load_pickle, safe_torch_load
from ganstudio.checkpoints import load_checkpoint
from ganstudio.models import create_discriminator, create_generator

TOL = 1e-4


# -- an NVIDIA-style network pickle, written by hand -------------------------------------------------

@pytest.fixture
def nvidia_modules(monkeypatch):
    """Importable stand-ins for torch_utils.persistence and dnnlib.util, so pickle can name them."""
    tu, pers = types.ModuleType("torch_utils"), types.ModuleType("torch_utils.persistence")
    dn, util = types.ModuleType("dnnlib"), types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # never called by the loader under test
        raise AssertionError("the importer must not call the pickled reconstructor")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    pers._reconstruct_persistent_obj = _reconstruct_persistent_obj
    EasyDict = type("EasyDict", (dict,), {"__module__": "dnnlib.util"})
    util.EasyDict = EasyDict
    tu.persistence, dn.util = pers, util
    for name, mod in [("torch_utils", tu), ("torch_utils.persistence", pers), ("dnnlib", dn), ("dnnlib.util", util)]:
        monkeypatch.setitem(sys.modules, name, mod)
    return pers._reconstruct_persistent_obj, EasyDict


class _Record:
    """Pickles like a persistent_class instance: (_reconstruct_persistent_obj, (meta,))."""

    def __init__(self, fn, meta):
        self.fn, self.meta = fn, meta

    def __reduce__(self):
        return self.fn, (self.meta,)


_NV_NAMES = {"StyleGAN2Generator": "Generator", "StyleGAN2Discriminator": "Discriminator"}


def _as_record(module: nn.Module, fn, EasyDict, marker: str, init_kwargs=None):
    state = {"training": False,
             "_parameters": collections.OrderedDict((k, v) for k, v in module._parameters.items()),
             "_buffers": collections.OrderedDict(module._buffers), "_non_persistent_buffers_set": set(),
             "_backward_hooks": collections.OrderedDict(), "_forward_hooks": collections.OrderedDict(),
             "_modules": collections.OrderedDict((k, _as_record(m, fn, EasyDict, marker))
                                                 for k, m in module._modules.items()),
             "_init_args": (), "_init_kwargs": EasyDict(init_kwargs or {})}
    for attr in ("weight_gain", "bias_gain", "conv_clamp", "activation", "resolution", "z_dim", "w_dim", "c_dim"):
        if attr in module.__dict__:
            v = module.__dict__[attr]
            state[attr] = np.float64(v) if isinstance(v, float) else v  # NVIDIA's gains are numpy scalars
    # Real pickles carry the module source; it must never be executed on import.
    src = f"import pathlib\npathlib.Path({marker!r}).write_text('executed')\n"
    name = _NV_NAMES.get(type(module).__name__, type(module).__name__)
    return _Record(fn, dict(type="class", version=6, module_src=src, class_name=name, state=state))


def _randomized(G):
    with torch.no_grad():  # zero-initialised strengths/biases would hide mapping mistakes
        for n, p in G.named_parameters():
            if n.endswith("noise_strength") or n.endswith(".bias"):
                p.normal_()
        G.mapping.w_avg.normal_()
    return G.eval()


def _write_nvidia_pickle(path, G, D, fn, EasyDict, marker):
    cfg = G.config
    kwargs = dict(z_dim=cfg.z_dim, w_dim=cfg.w_dim, c_dim=cfg.c_dim, img_resolution=cfg.img_resolution,
                  img_channels=cfg.img_channels, mapping_kwargs=EasyDict(num_layers=cfg.mapping_layers),
                  synthesis_kwargs=EasyDict(channel_base=cfg.channel_base, channel_max=cfg.channel_max,
                                            num_fp16_res=0, conv_clamp=cfg.conv_clamp,
                                            architecture=cfg.architecture))
    g = _as_record(G, fn, EasyDict, marker, kwargs)
    data = dict(training_set_kwargs=dict(path="data.zip", resolution=cfg.img_resolution), G=g,
                D=_as_record(D, fn, EasyDict, marker), G_ema=g, augment_pipe=None)
    with open(path, "wb") as f:
        pickle.dump(data, f)


NV_CASES = [
    dict(z_dim=24, w_dim=16, img_resolution=16, mapping_layers=3, channel_base=256, channel_max=32),
    dict(z_dim=16, w_dim=16, c_dim=3, img_resolution=32, mapping_layers=2, channel_base=256, channel_max=16,
         architecture="resnet", conv_clamp=256.0),
]


@pytest.mark.parametrize("case", NV_CASES, ids=["skip", "conditional-resnet-clamp"])
def test_nvidia_pickle_imports_with_parity(tmp_path, nvidia_modules, case):
    fn, EasyDict = nvidia_modules
    marker = str(tmp_path / "source-was-executed")
    torch.manual_seed(0)
    src = _randomized(create_generator("stylegan2", **case))
    D = create_discriminator("stylegan2", **case)
    pkl = tmp_path / "network-snapshot-000100.pkl"
    _write_nvidia_pickle(pkl, src, D, fn, EasyDict, marker)

    obj = load_pickle(pkl)
    assert isinstance(obj["G_ema"], PersistentObject) and obj["G_ema"].class_name == "Generator"
    G, meta, mod = convert_foreign(pkl)
    assert mod.NAME == "stylegan2-nvidia" and not os.path.exists(marker)
    for k in ("img_resolution", "z_dim", "w_dim", "c_dim", "mapping_layers", "channel_base", "channel_max",
              "architecture", "conv_clamp"):
        assert getattr(G.config, k) == getattr(src.config, k), k
    z = torch.randn(3, case["z_dim"], generator=torch.Generator().manual_seed(1))
    c = torch.eye(case["c_dim"])[[0, 1, 2]] if case.get("c_dim") else None
    with torch.no_grad():
        for psi in (1.0, 0.5):
            for noise in ("const", "none"):
                ref = src.synthesis(src.mapping(z, c, truncation_psi=psi), noise_mode=noise, clamp=False)
                out = G.synthesis(G.mapping(z, c, truncation_psi=psi), noise_mode=noise, clamp=False)
                assert (ref - out).abs().max() <= TOL, (psi, noise)
    dst = import_file(pkl, tmp_path / "imported.safetensors")
    assert load_checkpoint(dst).G.num_ws == src.num_ws


def test_nvidia_pickle_without_generator_is_a_clear_error(tmp_path, nvidia_modules):
    fn, EasyDict = nvidia_modules
    pkl = tmp_path / "d_only.pkl"
    D = create_discriminator("stylegan2", z_dim=16, w_dim=16, img_resolution=16, channel_base=128, channel_max=16)
    with open(pkl, "wb") as f:
        pickle.dump({"D": _as_record(D, fn, EasyDict, str(tmp_path / "m"))}, f)
    with pytest.raises(CheckpointError, match="no importer recognises"):
        convert_foreign(pkl)


# -- unsafe files ------------------------------------------------------------------------------------

class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _Opaque:
    """Any class not on torch's weights-only list."""


def test_malicious_pickle_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    pkl = tmp_path / "evil.pkl"
    with open(pkl, "wb") as f:
        pickle.dump({"G_ema": _Evil(marker), "w": torch.zeros(2)}, f)
    with pytest.raises(CheckpointError, match=r"refused to unpickle.*system"):
        load_pickle(pkl)
    with pytest.raises(CheckpointError, match="refused"):
        convert_foreign(pkl)
    assert not marker.exists()


def test_malicious_payload_inside_a_persistence_record_is_refused(tmp_path, nvidia_modules):
    fn, EasyDict = nvidia_modules
    marker = tmp_path / "pwned"
    rec = _Record(fn, dict(type="class", version=6, module_src="", class_name="Generator",
                           state={"_init_kwargs": EasyDict(hook=_Evil(marker))}))
    pkl = tmp_path / "evil_record.pkl"
    with open(pkl, "wb") as f:
        pickle.dump({"G_ema": rec}, f)
    with pytest.raises(CheckpointError, match="system"):
        load_pickle(pkl)
    assert not marker.exists()


def test_torch_file_with_non_tensor_global_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    for name, payload in [("opaque.pt", _Opaque()), ("evil.pt", _Evil(marker))]:
        path = tmp_path / name
        torch.save({"g_ema": {"input.input": torch.zeros(1)}, "x": payload}, path)
        with pytest.raises(CheckpointError, match="refused to load"):
            safe_torch_load(path)
        with pytest.raises(CheckpointError, match="refused"):
            load_foreign(path)
    assert not marker.exists()


def test_corrupt_files_are_clear_errors(tmp_path):
    good = tmp_path / "good.pkl"
    with open(good, "wb") as f:
        pickle.dump({"w": torch.randn(64)}, f)
    bad = tmp_path / "truncated.pkl"
    bad.write_bytes(good.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="corrupt"):
        load_pickle(bad)
    pt = tmp_path / "truncated.pt"
    torch.save({"w": torch.randn(64)}, tmp_path / "full.pt")
    pt.write_bytes((tmp_path / "full.pt").read_bytes()[:200])
    with pytest.raises(CheckpointError, match="cannot read"):
        safe_torch_load(pt)


# -- a rosinality-layout reference generator ---------------------------------------------------------

def _fir(x, k, up=1, pad=(0, 0)):
    """Zero-stuff by `up`, pad, then convolve each channel with k (written independently of the model)."""
    n, c, h, w = x.shape
    if up > 1:
        y = x.new_zeros(n, c, h * up, w * up)
        y[:, :, ::up, ::up] = x
        x = y
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    return F.conv2d(x, k.flip([0, 1]).expand(c, 1, *k.shape), groups=c)


def _kernel():
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    k = k[None] * k[:, None]
    return k / k.sum()


class _Lin(nn.Module):
    def __init__(self, i, o, bias_init=0.0, lr_mul=1.0, act=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(o, i) / lr_mul)
        self.bias = nn.Parameter(torch.full([o], bias_init))
        self.scale, self.lr_mul, self.act = lr_mul / math.sqrt(i), lr_mul, act

    def forward(self, x):
        x = F.linear(x, self.weight * self.scale) + self.bias * self.lr_mul
        return F.leaky_relu(x, 0.2) * math.sqrt(2) if self.act else x


class _Norm(nn.Module):
    def forward(self, x):
        return x / torch.sqrt((x * x).mean(1, keepdim=True) + 1e-8)


class _KernelHolder(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.register_buffer("kernel", k)


class _ModConv(nn.Module):
    def __init__(self, i, o, k, style_dim, demod=True, up=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, o, i, k, k))
        self.modulation = _Lin(style_dim, i, bias_init=1.0)
        self.scale, self.demod, self.up, self.pad = 1 / math.sqrt(i * k * k), demod, up, k // 2
        if up:
            self.blur = _KernelHolder(_kernel() * 4)

    def forward(self, x, w):
        n, i, h, wd = x.shape
        s = self.modulation(w).view(n, 1, i, 1, 1)
        weight = self.scale * self.weight * s  # scale applied before demodulation, as rosinality does
        if self.demod:
            weight = weight * torch.rsqrt(weight.pow(2).sum([2, 3, 4]) + 1e-8).view(n, -1, 1, 1, 1)
        o, k = weight.shape[1], weight.shape[-1]
        x = x.reshape(1, n * i, h, wd)
        if self.up:
            wt = weight.transpose(1, 2).reshape(n * i, o, k, k)
            y = F.conv_transpose2d(x, wt, stride=2, groups=n)
            y = y.view(n, o, *y.shape[2:])
            return _fir(y, self.blur.kernel, pad=(1, 1))
        y = F.conv2d(x, weight.reshape(n * o, i, k, k), padding=self.pad, groups=n)
        return y.view(n, o, h, wd)


class _Noise(nn.Module):
    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1))


class _Act(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.bias = nn.Parameter(torch.randn(c))

    def forward(self, x):
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2) * math.sqrt(2)


class _StyledConv(nn.Module):
    def __init__(self, i, o, style_dim, up=False):
        super().__init__()
        self.conv, self.noise, self.activate = _ModConv(i, o, 3, style_dim, up=up), _Noise(), _Act(o)

    def forward(self, x, w, noise):
        return self.activate(self.conv(x, w) + self.noise.weight * noise)


class _ToRGB(nn.Module):
    def __init__(self, i, style_dim, up=True):
        super().__init__()
        if up:
            self.upsample = _KernelHolder(_kernel() * 4)
        self.conv = _ModConv(i, 3, 1, style_dim, demod=False)
        self.bias = nn.Parameter(torch.randn(1, 3, 1, 1))

    def forward(self, x, w, skip=None):
        out = self.conv(x, w) + self.bias
        return out if skip is None else out + _fir(skip, self.upsample.kernel, up=2, pad=(2, 1))


class _RosinalityG(nn.Module):
    def __init__(self, size, style_dim, n_mlp, channels):
        super().__init__()
        self.style = nn.Sequential(_Norm(), *[_Lin(style_dim, style_dim, lr_mul=0.01, act=True) for _ in range(n_mlp)])
        self.input = nn.Module()
        self.input.input = nn.Parameter(torch.randn(1, channels[4], 4, 4))
        self.conv1 = _StyledConv(channels[4], channels[4], style_dim)
        self.to_rgb1 = _ToRGB(channels[4], style_dim, up=False)
        self.convs, self.to_rgbs, self.noises = nn.ModuleList(), nn.ModuleList(), nn.Module()
        self.log_size = int(math.log2(size))
        self.num_layers = 2 * (self.log_size - 2) + 1
        for k in range(self.num_layers):
            r = 2 ** ((k + 5) // 2)
            self.noises.register_buffer(f"noise_{k}", torch.randn(1, 1, r, r))
        cin = channels[4]
        for i in range(3, self.log_size + 1):
            cout = channels[2 ** i]
            self.convs.append(_StyledConv(cin, cout, style_dim, up=True))
            self.convs.append(_StyledConv(cout, cout, style_dim))
            self.to_rgbs.append(_ToRGB(cout, style_dim))
            cin = cout
        self.n_latent = 2 * self.log_size - 2

    def forward(self, z, psi=1.0, latent_avg=None, noise_mode="const"):
        w = self.style(z)
        if psi != 1:
            w = latent_avg + psi * (w - latent_avg)
        lat = w[:, None].repeat(1, self.n_latent, 1)
        noises = [getattr(self.noises, f"noise_{k}") for k in range(self.num_layers)]
        if noise_mode == "none":
            noises = [torch.zeros_like(t) for t in noises]
        x = self.input.input.repeat(z.shape[0], 1, 1, 1)
        x = self.conv1(x, lat[:, 0], noises[0])
        skip = self.to_rgb1(x, lat[:, 1])
        i = 1
        for c0, c1, n0, n1, rgb in zip(self.convs[::2], self.convs[1::2], noises[1::2], noises[2::2], self.to_rgbs):
            x = c1(c0(x, lat[:, i], n0), lat[:, i + 1], n1)
            skip = rgb(x, lat[:, i + 2], skip)
            i += 2
        return skip


def _rosinality(size=16):
    torch.manual_seed(0)
    g = _RosinalityG(size, 16, 2, {4: 32, 8: 32, 16: 16, 32: 8}).eval()
    with torch.no_grad():
        latent_avg = g.style(torch.randn(500, 16)).mean(0)
    return g, latent_avg


@pytest.mark.parametrize("size", [16, 32])
def test_rosinality_checkpoint_imports_with_parity(tmp_path, size):
    g, latent_avg = _rosinality(size)
    path = tmp_path / "550000.pt"
    # train.py's layout: g, d, g_ema, optimizer states and the argparse namespace
    torch.save({"g": g.state_dict(), "g_ema": g.state_dict(), "d": {}, "latent_avg": latent_avg,
                "args": argparse.Namespace(size=size, latent=16, n_mlp=2), "ada_aug_p": 0.2}, path)
    G, meta, mod = convert_foreign(path)
    assert mod.NAME == "stylegan2-rosinality" and meta["details"]["network"] == "g_ema"
    assert (G.img_resolution, G.w_dim, G.config.mapping_layers) == (size, 16, 2)
    assert meta["details"]["w_avg"] == "latent_avg" and torch.equal(G.w_avg, latent_avg)
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        for psi in (1.0, 0.5):
            for noise in ("const", "none"):
                ref = g(z, psi, latent_avg, noise)
                out = G.synthesis(G.mapping(z, truncation_psi=psi), noise_mode=noise, clamp=False)
                assert (ref - out).abs().max() <= TOL, (psi, noise)


def test_rosinality_without_latent_avg_estimates_w_avg(tmp_path):
    g, latent_avg = _rosinality()
    path = tmp_path / "g_ema_only.pt"
    torch.save({"g_ema": g.state_dict()}, path)
    G, meta, _ = convert_foreign(path)
    assert "seeded z" in meta["details"]["w_avg"]
    assert torch.allclose(G.w_avg, latent_avg, atol=0.25 * latent_avg.abs().max().item())


def test_rosinality_missing_tensor_is_a_clear_error(tmp_path):
    g, _ = _rosinality()
    sd = g.state_dict()
    del sd["convs.1.noise.weight"]
    path = tmp_path / "broken.pt"
    torch.save({"g_ema": sd}, path)
    with pytest.raises(CheckpointError, match="convs.1.noise.weight"):
        convert_foreign(path)


@pytest.mark.parametrize("extra, message", [
    ({"to_rgbs.0.iwt.ll": torch.ones(1, 1, 2, 2)}, "SWAGAN"),  # rosinality's wavelet variant, same other keys
    ({"convs.0.conv.extra_gain": torch.ones(1)}, "another architecture"),
])
def test_rosinality_layout_with_tensors_it_does_not_know_is_refused(tmp_path, extra, message):
    # SWAGAN shares StyleGAN2's key names: it was imported at half the resolution with 12 'colour' channels.
    g, _ = _rosinality()
    path = tmp_path / "variant.pt"
    torch.save({"g_ema": {**g.state_dict(), **extra}}, path)
    with pytest.raises(CheckpointError, match=message):
        convert_foreign(path)
