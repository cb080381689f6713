"""AC-GAN (Odena, Olah, Shlens 2017): a class-conditional G and a D with an auxiliary classifier.

G: z joined with a class embedding (c @ embedding matrix), a linear layer to a 4x4 map, then
5x5 stride-2 transposed convs with BatchNorm and ReLU, tanh output (paper, appendix).
D: alternating stride-2 / stride-1 3x3 convs with LeakyReLU(0.2), dropout 0.5 and BatchNorm,
and two linear heads: the real/fake score and the class logits.  D never sees c: the
class enters only through the classification loss on its auxiliary head.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape
from ganstudio.models._registry import register


@dataclass
class ACGANConfig:
    z_dim: int = 100  # noise dims
    c_dim: int = 10  # classes
    embed_dim: int = 10  # class embedding dims joined to z (the paper's 110-d input: 100 noise + 10 class)
    img_resolution: int = 32  # power of two >= 8
    img_channels: int = 3
    ngf: int = 96  # G width at the last hidden layer; doubles towards the input (CIFAR: 384, 192, 96)
    ndf: int = 16  # D width at the first conv; doubles every conv (CIFAR: 16 ... 512)
    d_max_ch: int = 512  # cap on D widths, so that larger images do not blow up the last convs
    d_dropout: float = 0.5  # dropout after every D conv (paper)


def _num_up(cfg: ACGANConfig) -> int:
    res = cfg.img_resolution
    if res < 8 or 2 ** int(math.log2(res)) != res:
        raise ValueError(f"AC-GAN resolution must be a power of two >= 8, got {res}")
    if cfg.img_channels not in (1, 3) or cfg.c_dim < 1:
        raise ValueError(f"AC-GAN needs img_channels 1 or 3 and c_dim >= 1, got {cfg.img_channels} and {cfg.c_dim}")
    return int(math.log2(res)) - 2


class ACGANGenerator(Generator):
    latent_layer = "fc"  # reads [z, class embedding]
    cpu_channels_last = True  # see Generator.cpu_channels_last

    def __init__(self, cfg: ACGANConfig):
        super().__init__()
        n = _num_up(cfg)
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.class_embed = nn.Linear(cfg.c_dim, cfg.embed_dim, bias=False)  # c @ E: linear, so blends blend
        self.ch0 = cfg.ngf * 2 ** (n - 1)
        self.fc = nn.Linear(cfg.z_dim + cfg.embed_dim, self.ch0 * 16)
        self.bn0 = nn.BatchNorm2d(self.ch0)
        layers: list[nn.Module] = []
        ch_in = self.ch0
        for i in range(n):
            last = i == n - 1
            ch = cfg.img_channels if last else cfg.ngf * 2 ** (n - 2 - i)
            # 5x5 stride-2 transposed conv that exactly doubles the size.
            layers.append(nn.ConvTranspose2d(ch_in, ch, 5, 2, 2, output_padding=1, bias=last))
            layers += [nn.Tanh()] if last else [nn.BatchNorm2d(ch), nn.ReLU(True)]
            ch_in = ch
        self.main = nn.Sequential(*layers)
        nn.init.normal_(self.class_embed.weight, 0.0, 1.0)  # unit-scale codes, like the one-hots they replace

    def capabilities(self) -> Capabilities:
        return Capabilities(classes=True, class_space="embedding")

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        z = ws[:, 0]
        c = self.check_c(c, z.shape[0])
        h = self.fc(torch.cat([z, self.class_embed(c.to(z.dtype))], dim=1)).view(-1, self.ch0, 4, 4)
        return self.main(torch.relu(self.bn0(h)))


class ACGANDiscriminator(Discriminator):
    def __init__(self, cfg: ACGANConfig):
        super().__init__()
        n = _num_up(cfg)
        self.c_dim = cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        layers: list[nn.Module] = []
        ch_in = cfg.img_channels
        for j in range(2 * n):
            ch = min(cfg.ndf * 2 ** j, cfg.d_max_ch)
            layers.append(nn.Conv2d(ch_in, ch, 3, 2 if j % 2 == 0 else 1, 1))
            if j > 0:  # no BatchNorm on the input layer
                layers.append(nn.BatchNorm2d(ch))
            layers.append(nn.LeakyReLU(0.2, True))
            if cfg.d_dropout > 0:
                layers.append(nn.Dropout(cfg.d_dropout))
            ch_in = ch
        self.main = nn.Sequential(*layers, nn.Flatten())
        feat = ch_in * 16  # 4x4 map after n halvings
        self.adv_head = nn.Linear(feat, 1)  # real/fake logit
        self.aux_head = nn.Linear(feat, cfg.c_dim)  # class logits

    def _features(self, img):
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        return self.main(img)

    def forward(self, img, c=None):
        # c is accepted for the common interface and ignored: AC-GAN's D is unconditional.
        return self.adv_head(self._features(img)).flatten()

    def forward_aux(self, img, c=None):
        h = self._features(img)
        return self.adv_head(h).flatten(), {"class_logits": self.aux_head(h)}

    def aux_heads(self) -> tuple[str, ...]:
        return ("class_logits",)


register("acgan", family="acgan", config_cls=ACGANConfig, generator=ACGANGenerator,
         discriminator=ACGANDiscriminator,
         tiny=dict(z_dim=8, c_dim=4, embed_dim=4, img_resolution=16, ngf=8, ndf=4),
         paper="Odena, Olah, Shlens. Conditional Image Synthesis with Auxiliary Classifier GANs. ICML 2017.",
         description="Class-conditional G; D scores real/fake and classifies the image with an auxiliary head.")
