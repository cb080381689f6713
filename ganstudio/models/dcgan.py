"""DCGAN (Radford, Metz, Chintala 2016), with optional InfoGAN codes (Chen et al. 2016).

G: a stack of stride-2 transposed convs with BatchNorm and ReLU, tanh output.  D: stride-2
convs with LeakyReLU(0.2) and BatchNorm (none on D's input layer), no pooling, no FC.
The generator keeps the ``main.N`` layout of the PyTorch DCGAN example so that its
checkpoints import by name.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from torch import nn

from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape
from ganstudio.models._registry import register


@dataclass
class DCGANConfig:
    z_dim: int = 100  # noise dims, plus the InfoGAN code dims below when they are used
    img_resolution: int = 64  # power of two >= 8
    img_channels: int = 3
    ngf: int = 64  # G width at the last hidden layer; doubles per layer towards the input
    ndf: int = 64  # D width at the first layer
    info_cat: int = 0  # InfoGAN: categories of one categorical code (0 = none)
    info_cont: int = 0  # InfoGAN: number of continuous codes, uniform in [-1, 1]
    d_norm: str = "batch"  # D's normalization: "batch" (DCGAN), "layer" (WGAN-GP critics: no batch coupling), "none"
    output: str = "tanh"  # G's last activation: "tanh" (DCGAN), or "clamp" to [-1, 1] for imported linear-output Gs


def _num_hidden(res: int) -> int:
    if res < 8 or 2 ** int(math.log2(res)) != res:
        raise ValueError(f"DCGAN resolution must be a power of two >= 8, got {res}")
    return int(math.log2(res)) - 2


class DCGANGenerator(Generator):
    latent_layer = "main"
    cpu_channels_last = True  # see Generator.cpu_channels_last

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.z_dim = self.w_dim = cfg.z_dim + cfg.info_cat + cfg.info_cont
        self.num_ws, self.c_dim = 1, 0
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.info_cat, self.info_cont = cfg.info_cat, cfg.info_cont
        n = _num_hidden(cfg.img_resolution)
        layers: list[nn.Module] = []
        ch_in = self.z_dim
        for i in range(n):
            ch = cfg.ngf * 2 ** (n - 1 - i)
            # First layer projects the 1x1 z to 4x4; the rest double the resolution.
            stride, pad = (1, 0) if i == 0 else (2, 1)
            layers += [nn.ConvTranspose2d(ch_in, ch, 4, stride, pad, bias=False), nn.BatchNorm2d(ch), nn.ReLU(True)]
            ch_in = ch
        if cfg.output not in ("tanh", "clamp"):
            raise ValueError(f"DCGAN output must be 'tanh' or 'clamp', got {cfg.output!r}")
        # Either keeps the main.N layout (no parameters); Hardtanh(-1, 1) is exactly a clamp.
        last = nn.Tanh() if cfg.output == "tanh" else nn.Hardtanh(-1.0, 1.0)
        layers += [nn.ConvTranspose2d(ch_in, cfg.img_channels, 4, 2, 1, bias=False), last]
        self.main = nn.Sequential(*layers)
        for m in self.modules():  # N(0, 0.02) init from the paper
            if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def capabilities(self) -> Capabilities:
        return Capabilities(latent_codes=self.info_cat + self.info_cont)

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        return self.main(ws[:, 0, :, None, None])


def _d_norm(kind: str, ch: int) -> nn.Module:
    # The gradient penalty is per sample, so WGAN-GP critics avoid BatchNorm (Gulrajani et al. 2017, sec. 4).
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "layer":
        return nn.GroupNorm(1, ch)  # LayerNorm over (C, H, W)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"d_norm must be 'batch', 'layer' or 'none', got {kind!r}")


class DCGANDiscriminator(Discriminator):
    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        n = _num_hidden(cfg.img_resolution)
        layers: list[nn.Module] = []
        ch_in = cfg.img_channels
        for i in range(n):
            ch = cfg.ndf * 2 ** i
            layers.append(nn.Conv2d(ch_in, ch, 4, 2, 1, bias=False))
            if i > 0:  # no normalization on D's input layer (paper, sec. 3)
                layers.append(_d_norm(cfg.d_norm, ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            ch_in = ch
        self.main = nn.Sequential(*layers)
        self.out = nn.Conv2d(ch_in, 1, 4, 1, 0, bias=False)
        self.info_cat, self.info_cont = cfg.info_cat, cfg.info_cont
        n_code = cfg.info_cat + 2 * cfg.info_cont  # categorical logits, then mean and log-std per continuous code
        # InfoGAN's Q shares all conv layers with D and adds a small head.
        self.q_head = nn.Sequential(nn.Conv2d(ch_in, 128, 4, 1, 0), nn.LeakyReLU(0.2, True), nn.Flatten(),
                                    nn.Linear(128, n_code)) if n_code else None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, img, c=None):
        return self.out(self.main(img)).flatten()

    def forward_aux(self, img, c=None):
        h = self.main(img)
        aux = {"code": self.q_head(h)} if self.q_head is not None else {}
        return self.out(h).flatten(), aux

    def aux_heads(self) -> tuple[str, ...]:
        return ("code",) if self.q_head is not None else ()  # InfoGAN's Q head


_PAPER = "Radford, Metz, Chintala. Unsupervised Representation Learning with Deep Convolutional GANs. ICLR 2016."
register("dcgan", family="dcgan", config_cls=DCGANConfig, generator=DCGANGenerator,
         discriminator=DCGANDiscriminator, tiny=dict(z_dim=8, img_resolution=16, ngf=8, ndf=8),
         paper=_PAPER, description="Deep convolutional GAN: transposed convs, BatchNorm, no pooling.")
register("infogan", family="dcgan", config_cls=DCGANConfig, generator=DCGANGenerator,
         discriminator=DCGANDiscriminator,
         tiny=dict(z_dim=8, img_resolution=16, ngf=8, ndf=8, info_cat=10, info_cont=2),
         paper="Chen et al. InfoGAN: Interpretable Representation Learning by Information Maximizing GANs. NIPS 2016.",
         description="DCGAN with InfoGAN codes: one categorical and some continuous codes appended to z.")
