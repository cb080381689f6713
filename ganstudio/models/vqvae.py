"""VQ-VAE (van den Oord et al. 2017) with a gated PixelCNN prior over its code grid.

The encoder maps an image to a grid of vectors z_e; each is replaced by its nearest codebook entry
(z_q), and the decoder renders the grid of entries.  The argmin has no gradient, so the decoder's
gradient is copied to z_e (straight-through estimator: ``z_e + (z_q - z_e).detach()``).  The loss is
the reconstruction error plus the commitment term beta * ||z_e - sg(e)||^2 (beta = 0.25 in the paper);
the codebook learns either by the codebook loss ||sg(z_e) - e||^2 or, as in the paper's appendix, by
exponential moving averages of the assigned encoder outputs (``codebook_update="ema"``).  Codes
unused for a while are re-seeded from encoder outputs of the current batch (``restart``), so the
codebook does not shrink to a few entries.

The prior (``models.pixelcnn``) is trained afterwards on the codes of the frozen model.  As a
generator: ``z`` [N, H*W] holds one normal draw per cell, turned into a uniform Phi(z) that picks the
cell's code from the prior (inverse CDF), so a seed means one sample.  ``mapping`` returns the code
grid as ``ws`` [N, 1, H*W] (codebook indices in raster order, as floats); ``synthesis`` decodes a
code grid.  An explicit ws in a render state is therefore an edited code grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.models._base import Capabilities, Generator, check_shape
from ganstudio.models._registry import register
from ganstudio.models.pixelcnn import GatedPixelCNN

UPDATES = ("ema", "loss")


@dataclass
class VQVAEConfig:
    img_resolution: int = 32
    img_channels: int = 1
    grid: int = 8  # code grid side; img_resolution / grid must be a power of two (one stride-2 conv each)
    num_codes: int = 128  # codebook size K
    code_dim: int = 32  # codebook vector size D
    channels: int = 64  # encoder / decoder width
    res_blocks: int = 2  # residual blocks in the encoder and in the decoder (paper: 2)
    res_channels: int = 32  # hidden width of a residual block
    codebook_update: str = "ema"  # "ema": moving averages (paper, appendix); "loss": the codebook loss term
    ema_decay: float = 0.99  # gamma of the EMA update
    restart: float = 0.01  # re-seed a code whose EMA use count falls below this (0 = never)
    prior_channels: int = 64  # gated PixelCNN width
    prior_layers: int = 8  # gated layers (each widens the receptive field by kernel // 2 cells)
    prior_kernel: int = 3


class ResBlock(nn.Module):
    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.body = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(hidden, channels, 1))

    def forward(self, x):
        return x + self.body(x)


def _encoder(cfg: VQVAEConfig, downs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = cfg.img_channels
    for i in range(downs):
        c_out = cfg.channels if i == downs - 1 else max(1, cfg.channels // 2)
        layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.ReLU()]
        c_in = c_out
    layers.append(nn.Conv2d(c_in, cfg.channels, 3, padding=1))
    layers += [ResBlock(cfg.channels, cfg.res_channels) for _ in range(cfg.res_blocks)]
    layers += [nn.ReLU(), nn.Conv2d(cfg.channels, cfg.code_dim, 1)]
    return nn.Sequential(*layers)


def _decoder(cfg: VQVAEConfig, downs: int) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cfg.code_dim, cfg.channels, 3, padding=1)]
    layers += [ResBlock(cfg.channels, cfg.res_channels) for _ in range(cfg.res_blocks)]
    c_in = cfg.channels
    for i in range(downs):
        last = i == downs - 1
        c_out = cfg.img_channels if last else max(1, cfg.channels // 2)
        layers += [nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)]
        c_in = c_out
    if downs == 0:
        layers += [nn.ReLU(), nn.Conv2d(c_in, cfg.img_channels, 1)]
    layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class VQLosses(NamedTuple):
    """One stage-1 pass: the reconstruction and its loss terms."""
    recon: torch.Tensor
    rec: torch.Tensor  # mean squared error per pixel
    commit: torch.Tensor  # ||z_e - sg(e)||^2 per element
    codebook: torch.Tensor  # ||sg(z_e) - e||^2 (0 with the EMA update)
    perplexity: torch.Tensor  # exp(entropy) of the batch's code use: how many codes it uses


class Codebook(nn.Module):
    """K vectors of size D; nearest-neighbour lookup, EMA update and restarts of unused entries."""

    def __init__(self, num_codes: int, dim: int, update: str, decay: float, restart: float):
        super().__init__()
        self.update, self.decay, self.restart = update, decay, restart
        self.embed = nn.Parameter(torch.randn(num_codes, dim) / math.sqrt(dim), requires_grad=(update == "loss"))
        self.register_buffer("ema_count", torch.ones(num_codes))
        self.register_buffer("ema_sum", self.embed.detach().clone())
        self.register_buffer("initialized", torch.zeros((), dtype=torch.long))

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """[M, D] -> indices [M] of the nearest entries (squared Euclidean distance)."""
        e = self.embed
        d = flat.pow(2).sum(1, keepdim=True) - 2 * flat @ e.t() + e.pow(2).sum(1)[None]
        return d.argmin(dim=1)

    @torch.no_grad()
    def learn(self, flat: torch.Tensor, idx: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
        """The EMA update and the restarts, from one batch of encoder outputs [M, D] and their codes [M];
        returns the codes to use (new ones when the codebook was just initialized from this batch)."""
        K = self.embed.shape[0]
        if not int(self.initialized):  # start from data: random entries are mostly never chosen
            pick = torch.randint(0, flat.shape[0], (K,), generator=generator, device=generator.device
                                 if generator is not None else flat.device).to(flat.device)
            self.embed.data.copy_(flat[pick])
            self.ema_sum.copy_(flat[pick])
            self.ema_count.fill_(1.0)
            self.initialized.fill_(1)
            idx = self.nearest(flat)
        if self.update == "ema":
            onehot = F.one_hot(idx, K).to(flat.dtype)
            self.ema_count.mul_(self.decay).add_(onehot.sum(0), alpha=1 - self.decay)
            self.ema_sum.mul_(self.decay).add_(onehot.t() @ flat, alpha=1 - self.decay)
            n = self.ema_count.sum()
            count = (self.ema_count + 1e-5) / (n + K * 1e-5) * n  # Laplace smoothing: no division by zero
            self.embed.data.copy_(self.ema_sum / count[:, None])
        else:
            self.ema_count.mul_(self.decay).add_(torch.bincount(idx, minlength=K).to(flat.dtype), alpha=1 - self.decay)
        if self.restart > 0:
            dead = (self.ema_count < self.restart).nonzero().flatten()
            if len(dead):
                pick = torch.randint(0, flat.shape[0], (len(dead),), generator=generator,
                                     device=generator.device if generator is not None else flat.device).to(flat.device)
                self.embed.data[dead] = flat[pick]
                self.ema_sum[dead] = flat[pick]
                self.ema_count[dead] = 1.0
        return idx


class VQVAEGenerator(Generator):
    """Encoder, codebook, decoder and the PixelCNN prior; the generator samples the prior and decodes."""
    latent_layer = ""  # z is the prior's sampling noise: no layer reads it linearly (no SeFa / GANSpace)

    def __init__(self, cfg: VQVAEConfig):
        super().__init__()
        r, g = cfg.img_resolution, cfg.grid
        downs = int(round(math.log2(r / g))) if r >= 1 and g >= 1 else -1
        if g < 1 or downs < 0 or g * 2 ** downs != r:
            raise ValueError(f"VQ-VAE needs img_resolution = grid * 2^n, got img_resolution {r} and grid {g}")
        if cfg.img_channels not in (1, 3):
            raise ValueError(f"VQ-VAE needs img_channels 1 or 3, got {cfg.img_channels}")
        if cfg.num_codes < 2 or cfg.code_dim < 1 or cfg.channels < 1 or cfg.res_channels < 1 or cfg.res_blocks < 0:
            raise ValueError("VQ-VAE needs num_codes >= 2 and code_dim, channels, res_channels >= 1")
        if cfg.codebook_update not in UPDATES:
            raise ValueError(f"codebook_update must be one of {', '.join(UPDATES)}, got {cfg.codebook_update!r}")
        if not 0 <= cfg.ema_decay < 1 or cfg.restart < 0:
            raise ValueError(f"ema_decay must be in [0, 1) and restart >= 0, got {cfg.ema_decay}, {cfg.restart}")
        self.grid = g
        self.num_codes = cfg.num_codes
        self.z_dim = self.w_dim = g * g
        self.num_ws, self.c_dim = 1, 0
        self.img_resolution, self.img_channels = r, cfg.img_channels
        self.encoder = _encoder(cfg, downs)
        self.codebook = Codebook(cfg.num_codes, cfg.code_dim, cfg.codebook_update, cfg.ema_decay, cfg.restart)
        self.decoder = _decoder(cfg, downs)
        self.prior = GatedPixelCNN(cfg.num_codes, cfg.prior_channels, cfg.prior_layers, cfg.prior_kernel)

    def capabilities(self) -> Capabilities:
        return Capabilities(code_grid=(self.grid, self.grid), codebook_size=self.num_codes)

    # -- stage 1 -------------------------------------------------------------------------------
    def encode_codes(self, img: torch.Tensor) -> torch.Tensor:
        """img [N, C, H, W] in [-1, 1] -> code grid [N, grid, grid] (long); changes nothing."""
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        z_e = self.encoder(img)
        N, D, H, W = z_e.shape
        return self.codebook.nearest(z_e.permute(0, 2, 3, 1).reshape(-1, D)).view(N, H, W)

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """code grid [N, grid, grid] (long) -> image [N, C, H, W] in [-1, 1]."""
        check_shape(codes, [None, self.grid, self.grid], "codes")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.num_codes):
            raise ValueError(f"codes must be in [0, {self.num_codes - 1}]")
        z_q = F.embedding(codes, self.codebook.embed).permute(0, 3, 1, 2)
        return self.decoder(z_q)

    def reconstruct(self, img: torch.Tensor) -> torch.Tensor:
        """img -> decode(quantize(encode(img))), the model's reconstruction."""
        return self.decode_codes(self.encode_codes(img))

    def vq_losses(self, img: torch.Tensor, generator: Optional[torch.Generator] = None) -> VQLosses:
        """The stage-1 pass on real images; in training mode the EMA codebook update and restarts run."""
        check_shape(img, [None, self.img_channels, self.img_resolution, self.img_resolution], "img")
        z_e = self.encoder(img)
        N, D, H, W = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, D)
        idx = self.codebook.nearest(flat.detach())
        if self.training:
            idx = self.codebook.learn(flat.detach(), idx, generator)
        e = self.codebook.embed[idx]
        commit = F.mse_loss(flat, e.detach())
        codebook = F.mse_loss(e, flat.detach()) if self.codebook.update == "loss" else commit.new_zeros(())
        z_q = flat + (e - flat).detach()  # straight-through: the decoder's gradient reaches the encoder
        recon = self.decoder(z_q.view(N, H, W, D).permute(0, 3, 1, 2))
        p = torch.bincount(idx, minlength=self.num_codes).float() / idx.numel()
        perplexity = torch.exp(-(p * torch.log(p + 1e-10)).sum())
        return VQLosses(recon, F.mse_loss(recon, img), commit, codebook, perplexity)

    # -- the generator interface ---------------------------------------------------------------
    def mapping(self, z: torch.Tensor, c: Optional[torch.Tensor] = None, truncation_psi: float = 1.0,
                truncation_cutoff: Optional[int] = None, temperature: float = 1.0) -> torch.Tensor:
        """z [N, grid*grid] (a normal draw per cell) -> a prior sample's code grid as ws [N, 1, grid*grid]."""
        check_shape(z, [None, self.z_dim], "z")
        self.check_c(c, z.shape[0])
        codes = self.sample_codes(z, temperature=temperature)
        return codes.flatten(1).to(z.dtype).unsqueeze(1)

    def sample_codes(self, z: torch.Tensor, codes: Optional[torch.Tensor] = None, cells: Optional[torch.Tensor] = None,
                     temperature: float = 1.0, report: Optional[Callable] = None) -> torch.Tensor:
        """Prior samples driven by z [N, grid*grid]: every cell (``cells`` None) or the cells set in ``cells``
        [grid, grid], the others kept from ``codes`` [N, grid, grid]."""
        g = self.grid
        u = torch.special.ndtr(z.float()).clamp(1e-7, 1 - 1e-7).view(-1, g, g)
        if codes is None:
            codes = torch.zeros(z.shape[0], g, g, dtype=torch.long, device=z.device)
        if cells is None:
            cells = torch.ones(g, g, dtype=torch.bool)
        return self.prior.sample(codes, cells, u, temperature, report)

    def codes_from_ws(self, ws: torch.Tensor) -> torch.Tensor:
        """ws [N, 1, grid*grid] -> code grid [N, grid, grid]: rounded and clamped, so any ws decodes."""
        check_shape(ws, [None, 1, self.w_dim], "ws")
        codes = torch.nan_to_num(ws[:, 0].float(), nan=0.0).round().clamp(0, self.num_codes - 1).long()
        return codes.view(-1, self.grid, self.grid)

    def synthesis(self, ws, c=None, **_):
        self.check_c(c, ws.shape[0])
        return self.decode_codes(self.codes_from_ws(ws))


register("vqvae", family="vqvae", config_cls=VQVAEConfig, generator=VQVAEGenerator, discriminator=None,
         tiny=dict(img_resolution=8, grid=4, num_codes=8, code_dim=4, channels=8, res_blocks=1, res_channels=4,
                   prior_channels=8, prior_layers=3),
         paper="van den Oord, Vinyals, Kavukcuoglu. Neural Discrete Representation Learning. NeurIPS 2017; "
               "van den Oord et al. Conditional Image Generation with PixelCNN Decoders. NeurIPS 2016.",
         description="VQ-VAE: conv encoder to a grid of codebook indices, conv decoder; a gated PixelCNN prior "
                     "samples the grid.")
