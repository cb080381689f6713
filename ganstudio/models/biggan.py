"""BigGAN (Brock, Donahue, Simonyan 2019): SAGAN scaled up, with a shared class embedding and skip-z.

G: class weights c go through one shared embedding (``c @ shared``, linear in c so class
blends work).  z is split into equal chunks: the first feeds the initial linear layer, each
later chunk joins the shared embedding to condition one up-block's conditional BatchNorms
(hierarchical latents).  ResNet up-blocks, self-attention at ``attn_res``, spectral norm in
G and D, orthogonal initialisation, projection D (the SAGAN one).  Truncation is on z: the
latent sampler draws a truncated normal; the generator itself uses z as given.

``ortho_reg`` is BigGAN's orthogonal regularization, the variant that only penalises the
off-diagonal of W W^T (sec. 3.1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.models._base import Capabilities, Generator, check_shape
from ganstudio.models._layers import maybe_sn
from ganstudio.models._registry import register
from ganstudio.models.sagan import (G_ARCH, GBlock, ResNetDiscriminator, _attention, check_attn_res,
                                    check_resolution, g_resolutions)


def ortho_init(module: nn.Module) -> None:
    """BigGAN's initialisation: orthogonal weights for every conv / linear layer, zero biases."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            w = m.parametrizations.weight.original if hasattr(m, "parametrizations") else m.weight
            nn.init.orthogonal_(w)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


# Parameter names (substrings) that ortho_reg leaves alone: the class embeddings and the
# conditional-BN gain/bias maps, as in the paper.
ORTHO_BLACKLIST = ("shared", "embed", ".gain.", ".bias.")


def ortho_reg(module: nn.Module, beta: float = 1e-4,
              blacklist: Optional[Iterable[Union[str, torch.Tensor]]] = ORTHO_BLACKLIST) -> torch.Tensor:
    """beta * sum over weights W of ||W W^T * (1 - I)||_F^2, W flattened to [out, -1].

    Only weights with two or more dims count (biases and gains never do).  ``blacklist`` holds
    parameter-name substrings and/or parameter tensors to skip.  Differentiable: add it to G's loss.
    """
    names = tuple(b for b in (blacklist or ()) if isinstance(b, str))
    skip = {id(b) for b in (blacklist or ()) if isinstance(b, torch.Tensor)}
    total = None
    for name, p in module.named_parameters():
        if p.ndim < 2 or id(p) in skip or any(s in "." + name for s in names):
            continue
        w = p.flatten(1)
        gram = w @ w.t()
        off = gram - torch.diag_embed(torch.diagonal(gram))  # exact zeros on the diagonal
        term = off.pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("ortho_reg found no weight matrices to regularise (all blacklisted?)")
    return beta * total


@dataclass
class BigGANConfig:
    z_dim: int = 128  # latent dims; split into (number of G blocks + 1) equal chunks
    c_dim: int = 10  # classes
    img_resolution: int = 32  # 32, 64 or 128
    img_channels: int = 3
    g_ch: int = 64  # G width multiplier (channels = multiplier x architecture entry)
    d_ch: int = 64  # D width multiplier
    shared_dim: int = 128  # size of the shared class embedding
    attn_res: int = 16  # feature-map resolution of the self-attention block in G and D (0 = none)


class BigGANGenerator(Generator):
    cpu_channels_last = True  # see Generator.cpu_channels_last
    # Reads z's first chunk only (skip-z feeds the others to the blocks' class-conditional BN), so
    # GANSpace's directions, regressed onto all of z, carry that chunk; sefa_weight covers every chunk.
    latent_layer = "linear"

    def __init__(self, cfg: BigGANConfig):
        super().__init__()
        check_resolution(cfg.img_resolution)
        check_attn_res(cfg.attn_res, cfg.img_resolution)
        if cfg.c_dim < 1:
            raise ValueError(f"BigGAN is class-conditional: c_dim must be >= 1, got {cfg.c_dim}")
        chans = [m * cfg.g_ch for m in G_ARCH[cfg.img_resolution]]
        n_blocks = len(chans) - 1
        self.num_chunks = n_blocks + 1
        if cfg.z_dim % self.num_chunks:
            raise ValueError(f"z_dim must split into {self.num_chunks} equal chunks (one for the input layer, one "
                             f"per G block) at {cfg.img_resolution} px; {cfg.z_dim} does not")
        self.chunk = cfg.z_dim // self.num_chunks
        self.z_dim = self.w_dim = cfg.z_dim
        self.num_ws, self.c_dim = 1, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.ch0 = chans[0]
        self.shared = nn.Linear(cfg.c_dim, cfg.shared_dim, bias=False)  # c @ W: the shared class embedding
        self.linear = maybe_sn(nn.Linear(self.chunk, 16 * chans[0]), True)
        cond_dim = cfg.shared_dim + self.chunk
        self.blocks = nn.ModuleList([GBlock(a, b, cond_dim, cbn_sn=True) for a, b in zip(chans[:-1], chans[1:])])
        self.block_resolutions = g_resolutions(cfg.img_resolution)
        self.attn_res = cfg.attn_res
        self.attention = None
        if cfg.attn_res:
            self.attention = _attention(chans[self.block_resolutions.index(cfg.attn_res) + 1], cfg.attn_res)
        self.out_bn = nn.BatchNorm2d(chans[-1])
        self.out_conv = maybe_sn(nn.Conv2d(chans[-1], cfg.img_channels, 3, padding=1), True)
        ortho_init(self)

    def capabilities(self) -> Capabilities:
        return Capabilities(truncation="z", classes=True, class_space="embedding", attention=self.attention is not None)

    def z_chunks(self, z: torch.Tensor) -> list[torch.Tensor]:
        """z split for skip-z: [input layer, block 0, block 1, ...]."""
        return list(torch.split(z, self.chunk, dim=1))

    def synthesis(self, ws, c=None, **_):
        check_shape(ws, [None, 1, self.z_dim], "ws")
        z = ws[:, 0]
        c = self.check_c(c, z.shape[0])
        y = self.shared(c.to(z.dtype))
        zs = self.z_chunks(z)
        h = self.linear(zs[0]).reshape(z.shape[0], self.ch0, 4, 4)
        for res, block, z_i in zip(self.block_resolutions, self.blocks, zs[1:]):
            h = block(h, torch.cat([y, z_i], dim=1))
            if res == self.attn_res:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))

    def sefa_weight(self, layers=None) -> torch.Tensor:
        """Every weight that reads z, as one [out, z_dim] map for SeFa (zero where a layer ignores a chunk).

        Skip-z feeds each chunk to its own layers, so no single layer sees all of z; stacking the
        input layer with the blocks' conditional-BN gains and biases (z columns only) covers it.
        """
        rows = []
        w = self.linear.weight.detach()
        full = w.new_zeros(w.shape[0], self.z_dim)
        full[:, :self.chunk] = w
        rows.append(full)
        shared = self.shared.out_features
        for i, block in enumerate(self.blocks):
            lo = (i + 1) * self.chunk
            for norm in (block.norm1, block.norm2):
                for lin in (norm.cbn.gain, norm.cbn.bias):
                    w = lin.weight.detach()[:, shared:]
                    full = w.new_zeros(w.shape[0], self.z_dim)
                    full[:, lo:lo + self.chunk] = w
                    rows.append(full)
        return torch.cat(rows)

    def attention_maps(self) -> dict:
        """{resolution: attention [N, HW, HW/4]} from the last forward (empty before the first)."""
        if self.attention is None or self.attention.last_attention is None:
            return {}
        return {self.attn_res: self.attention.last_attention}


class BigGANDiscriminator(ResNetDiscriminator):
    def __init__(self, cfg: BigGANConfig):
        if cfg.c_dim < 1:
            raise ValueError(f"BigGAN is class-conditional: c_dim must be >= 1, got {cfg.c_dim}")
        super().__init__(img_resolution=cfg.img_resolution, img_channels=cfg.img_channels, c_dim=cfg.c_dim,
                         ch=cfg.d_ch, attn_res=cfg.attn_res, init=ortho_init)


_PAPER = "Brock, Donahue, Simonyan. Large Scale GAN Training for High Fidelity Natural Image Synthesis. ICLR 2019."
register("biggan", family="biggan", config_cls=BigGANConfig, generator=BigGANGenerator,
         discriminator=BigGANDiscriminator,
         tiny=dict(z_dim=16, c_dim=3, img_resolution=32, g_ch=2, d_ch=2, shared_dim=8, attn_res=16),
         paper=_PAPER, description="BigGAN: shared class embedding, hierarchical skip-z, self-attention, "
                                   "spectral norm, orthogonal init and regularization.")
