"""facebookresearch pytorch_GAN_zoo checkpoints: PGAN -> progan and DCGAN -> dcgan with identical outputs."""
import math
import sys
import types
from collections import OrderedDict

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.checkpoints import CheckpointError, load_checkpoint
from ganstudio.checkpoints.importers import import_file, open_any


# -- reference networks in the zoo's layout (written here for the test) ---------------------------
class ZooEqualized(nn.Module):
    """The zoo's equalized layer: the wrapped layer's whole output (bias too) times sqrt(2 / fan_in)."""

    def __init__(self, module):
        super().__init__()
        self.module = module
        self.scale = math.sqrt(2.0 / math.prod(module.weight.shape[1:]))

    def forward(self, x):
        return self.module(x) * self.scale


def _pixnorm(x):
    return x * ((x ** 2).mean(dim=1, keepdim=True) + 1e-8).rsqrt()


def _up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


class ZooPGANGenerator(nn.Module):
    def __init__(self, z_dim, depths, out=3, alpha=0.0, tanh=False):
        super().__init__()
        self.formatLayer = ZooEqualized(nn.Linear(z_dim, 16 * depths[0]))
        self.groupScale0 = nn.ModuleList([ZooEqualized(nn.Conv2d(depths[0], depths[0], 3, padding=1))])
        self.scaleLayers = nn.ModuleList()
        for a, b in zip(depths[:-1], depths[1:]):
            self.scaleLayers.append(nn.ModuleList([ZooEqualized(nn.Conv2d(a, b, 3, padding=1)),
                                                   ZooEqualized(nn.Conv2d(b, b, 3, padding=1))]))
        self.toRGBLayers = nn.ModuleList([ZooEqualized(nn.Conv2d(d, out, 1)) for d in depths])
        self.alpha, self.tanh = alpha, tanh

    def forward(self, z):
        lrelu = nn.LeakyReLU(0.2)
        x = _pixnorm(z)
        x = _pixnorm(lrelu(self.formatLayer(x)).view(z.shape[0], -1, 4, 4))
        for conv in self.groupScale0:
            x = _pixnorm(lrelu(conv(x)))
        if self.alpha > 0 and len(self.scaleLayers) == 1:
            y = _up(self.toRGBLayers[-2](x))
        for s, group in enumerate(self.scaleLayers):
            x = _up(x)
            for conv in group:
                x = _pixnorm(lrelu(conv(x)))
            if self.alpha > 0 and s == len(self.scaleLayers) - 2:
                y = _up(self.toRGBLayers[-2](x))
        x = self.toRGBLayers[-1](x)
        if self.alpha > 0:
            x = self.alpha * y + (1.0 - self.alpha) * x
        return torch.tanh(x) if self.tanh else x


class ZooDCGANGenerator(nn.Module):
    def __init__(self, z_dim, dim_g, out=3, depth=3):
        super().__init__()
        d = dim_g * 2 ** depth
        self.formatLayer = nn.ConvTranspose2d(z_dim, d, 4, 1, 0, bias=False)
        seq = OrderedDict(batchNorm0=nn.BatchNorm2d(d), relu0=nn.ReLU(True))
        for i in range(depth):
            seq[f"convTranspose{i + 1}"] = nn.ConvTranspose2d(d, d // 2, 4, 2, 1, bias=False)
            seq[f"batchNorm{i + 1}"] = nn.BatchNorm2d(d // 2)
            seq[f"relu{i + 1}"] = nn.ReLU(True)
            d //= 2
        seq["outlayer"] = nn.ConvTranspose2d(dim_g, out, 4, 2, 1, bias=False)
        self.main = nn.Sequential(seq)

    def forward(self, z):
        return torch.tanh(self.main(self.formatLayer(z.view(-1, z.shape[1], 1, 1))))


def _randomize(net, seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith("num_batches_tracked"):
                continue
            elif name.endswith("bias") or name.endswith("running_mean"):
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
            else:
                # toRGB weights are kept small so that much of a linear output lies inside [-1, 1].
                t.copy_((0.3 if name.startswith("toRGB") else scale) * torch.randn(t.shape, generator=g))
    return net.eval()


@pytest.fixture
def zoo_config_class(monkeypatch):
    """A class that pickles as models.utils.config.BaseConfig, like the zoo's own."""
    for name in ("models", "models.utils", "models.utils.config"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    cls = type("BaseConfig", (), {"__module__": "models.utils.config"})
    sys.modules["models.utils.config"].BaseConfig = cls
    return cls


def _z(n, dim, seed=0):
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_pgan_with_zoo_config_object_prefers_avgG(tmp_path, zoo_config_class):
    depths = [16, 16, 8]
    netG = _randomize(ZooPGANGenerator(12, depths), seed=1)
    avgG = _randomize(ZooPGANGenerator(12, depths), seed=2)
    cfg = zoo_config_class()
    cfg.depthScales, cfg.lossCriterion, cfg.alpha, cfg.perChannelNormalization = depths, "WGANGP", 0, True
    cfg.leakyReluLeak, cfg.equalizedlR, cfg.latentVectorDim = 0.2, True, 12
    src = tmp_path / "celeba_s2_i1000.pt"
    torch.save({"config": cfg, "netG": netG.state_dict(), "netD": {}, "avgG": avgG.state_dict()}, src)
    ck = open_any(src)
    assert ck.model_name == "progan" and ck.G.img_resolution == 16
    assert ck.meta["extra"]["imported"]["details"]["found_at"] == "avgG"
    z = _z(4, 12)
    with torch.no_grad():
        want = avgG(z)
        got = ck.G(z)
    inside = (want.abs() < 1).float().mean().item()
    assert inside > 0.3, "test weights should keep much of the output inside [-1, 1]"
    assert (got - want.clamp(-1, 1)).abs().max().item() <= 1e-4
    # Our own file, written from it, renders the same.
    dst = import_file(src)
    with torch.no_grad():
        assert torch.equal(load_checkpoint(dst).G(z), got)


def test_pgan_mid_fade_in_with_tanh_loss(tmp_path):
    depths = [8, 8, 8, 4]
    ref = _randomize(ZooPGANGenerator(10, depths, alpha=0.3, tanh=True), seed=3)
    src = tmp_path / "pgan.pth"
    config = {"lossCriterion": "DCGAN", "alpha": 0.3, "perChannelNormalization": True, "depthScales": depths}
    torch.save({"config": config, "netG": ref.state_dict()}, src)
    ck = open_any(src)
    assert ck.G.img_resolution == 32 and ck.G.current_stage() == (3, pytest.approx(0.7))
    z = _z(3, 10, seed=1)
    with torch.no_grad():
        assert (ck.G(z) - ref(z)).abs().max().item() <= 1e-4


def test_pgan_bare_state_dict(tmp_path):
    ref = _randomize(ZooPGANGenerator(8, [8, 4]), seed=4)
    src = tmp_path / "g.pt"
    torch.save(ref.state_dict(), src)
    ck = open_any(src)
    z = _z(2, 8, seed=2)
    with torch.no_grad():
        assert (ck.G(z) - ref(z).clamp(-1, 1)).abs().max().item() <= 1e-4
    assert any("no zoo config" in n for n in ck.meta["extra"]["imported"]["notes"])


@pytest.mark.parametrize("depth", [2, 3])
def test_dcgan(tmp_path, depth):
    ref = _randomize(ZooDCGANGenerator(16, 4, depth=depth), seed=5, scale=0.05)
    src = tmp_path / "dcgan_zoo.pt"
    torch.save({"config": {"lossCriterion": "DCGAN", "depth": depth}, "netG": ref.state_dict(),
                "avgG": ref.state_dict()}, src)
    ck = open_any(src)
    assert ck.model_name == "dcgan" and ck.G.img_resolution == 2 ** (depth + 3)
    z = _z(3, 16, seed=3)
    with torch.no_grad():
        assert (ck.G(z) - ref(z)).abs().max().item() <= 1e-4


def test_other_zoo_classes_are_still_refused(tmp_path, zoo_config_class):
    evil_cls = type("Trainer", (), {"__module__": "models.utils.config"})
    sys.modules["models.utils.config"].Trainer = evil_cls
    src = tmp_path / "bad.pt"
    torch.save({"config": evil_cls(), "netG": {}}, src)
    with pytest.raises(CheckpointError, match="refused"):
        open_any(src)


def test_incomplete_pgan_is_a_clear_error(tmp_path):
    ref = ZooPGANGenerator(8, [8, 4])
    sd = ref.state_dict()
    del sd["scaleLayers.0.1.module.bias"]
    src = tmp_path / "broken.pt"
    torch.save({"netG": sd}, src)
    with pytest.raises(CheckpointError, match="scaleLayers|blocks.1.conv1"):
        open_any(src)


def test_dcgan_trained_with_wgangp_keeps_its_linear_output_clamped(tmp_path):
    # The zoo's WGAN-GP DCGAN has no output activation: a tanh squeezed its colours (0.2 off at 0.95).
    ref = _randomize(ZooDCGANGenerator(16, 4, depth=2), seed=5, scale=0.05)
    with torch.no_grad():
        ref.main.outlayer.weight.mul_(100)  # a trained G's output spans about [-1, 1] and beyond
    src = tmp_path / "dcgan_wgangp.pt"
    torch.save({"config": {"lossCriterion": "WGANGP", "depth": 2}, "avgG": ref.state_dict()}, src)
    ck = open_any(src)
    z = _z(3, 16, seed=3)
    with torch.no_grad():
        linear = ref.main(ref.formatLayer(z.view(-1, 16, 1, 1)))
        assert linear.abs().max() > 1  # the case that matters: values beyond [-1, 1] are clamped, not squeezed
        assert (ck.G(z) - linear.clamp(-1, 1)).abs().max().item() <= 1e-4
    assert any("clamped" in n for n in ck.meta["extra"]["imported"]["notes"])


def test_dcgan_avgG_with_untouched_batchnorm_statistics_gets_them_measured(tmp_path):
    # The zoo renders in train mode and its avgG only averages weights, so its saved BatchNorm
    # statistics stay at mean 0 / variance 1; rendering with those is far from what the zoo shows.
    ref = _randomize(ZooDCGANGenerator(16, 4, depth=2), seed=5, scale=0.05)
    for m in ref.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
    src = tmp_path / "dcgan_avg.pt"
    torch.save({"config": {"lossCriterion": "DCGAN", "depth": 2}, "avgG": ref.state_dict()}, src)
    ck = open_any(src)
    z = _z(1024, 16, seed=3)
    with torch.no_grad():
        shown_by_zoo = ref.train()(z)  # batch statistics of a large batch: the population's
        ref.eval()
        ours, untouched = ck.G(z), ref(z)
    assert (ours - shown_by_zoo).abs().mean() < 0.25 * (untouched - shown_by_zoo).abs().mean()
    assert any("BatchNorm statistics" in n for n in ck.meta["extra"]["imported"]["notes"])
    again = open_any(src)  # seeded: the same statistics every time
    assert torch.equal(again.G.state_dict()["main.1.running_mean"], ck.G.state_dict()["main.1.running_mean"])
