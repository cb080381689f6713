"""The recipe of the projector's start: an image -> w+ encoder trained against one frozen generator.

Each step (in-domain inversion, after Zhu et al. 2020, with our own losses and sizes):

- generated pairs: z -> w through the frozen mapping, half of the batch style-mixed at a random
  layer (so the rows of w+ differ, as a projection's do), rendered with random noise; the encoder's
  guess is pulled to the true w+ (MSE in units of the w's spread around the mean);
- real images (when the recipe names a data set): the guess is rendered by the frozen generator
  and compared with the image by the projector's own loss (pixel MSE on a pyramid, plus the
  Fashion-MNIST classifier's features on grey models), so the encoder learns what the generator
  can draw of real data, not only of its own samples.

Adam with the rate falling linearly over the last third.  Reproducible from the seed on one
thread (``torch.use_deterministic_algorithms``).  Run as ``ganstudio train-encoder`` (commands/
train_encoder.py), which writes the file that engine/inversion_encoder.load_encoder reads.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

import torch


@dataclass(frozen=True)
class EncoderRecipe:
    steps: int = 1000
    batch: int = 32  # generated (image, w+) pairs per step
    real_batch: int = 8  # real images per step through the reconstruction loss (0: generated pairs only)
    lr: float = 1e-3  # Adam's rate, falling linearly to 0 over the last third
    mix_prob: float = 0.5  # fraction of the generated pairs whose w+ mixes two w at a random layer
    latent_weight: float = 1.0
    recon_weight: float = 1.0  # weight of the reconstruction loss of the real images
    feature_weight: float = 0.1  # classifier features in that loss (grey models; engine.projection.GREY_FEATURES)
    seed: int = 0


@dataclass
class EncoderStats:
    step: int
    latent_loss: float
    recon_loss: float
    seconds: float


def _lr_at(step: int, r: EncoderRecipe) -> float:
    fall_from = r.steps * 2 // 3
    return r.lr if step < fall_from else r.lr * max(0.0, (r.steps - step) / max(1, r.steps - fall_from))


def _spread(G, gen: torch.Generator, device) -> float:
    """The root-mean-square distance of G's w from their mean, per dimension."""
    with torch.no_grad():
        w = G.mapping(torch.randn(2000, G.z_dim, generator=gen).to(device), None)[:, 0]
    return float(((w - w.mean(0)) ** 2).mean().sqrt())


def generated_pairs(G, n: int, mix_prob: float, gen: torch.Generator, device):
    """(images [n, C, H, W] with random noise, their ws [n, num_ws, w_dim]) drawn by the frozen ``G``."""
    with torch.no_grad():
        z = torch.randn(2 * n, G.z_dim, generator=gen).to(device)
        ws = G.mapping(z, None)
        ws, other = ws[:n].clone(), ws[n:]
        cut = torch.randint(1, max(2, G.num_ws), (n,), generator=gen).to(device)
        mixed = torch.rand(n, generator=gen).to(device) < mix_prob
        rows = torch.arange(G.num_ws, device=device)[None]
        take = (rows >= cut[:, None]) & mixed[:, None]
        ws = torch.where(take[..., None], other, ws)
        img = G.synthesis(ws, None, noise_mode="random")
    return img.clamp(-1, 1), ws


def _recon_loss(G, encoder, real: torch.Tensor, r: EncoderRecipe, classifier) -> torch.Tensor:
    from ganstudio.engine.projection import ProjectionLoss, ProjectionSettings
    loss_fn = ProjectionLoss(real, ProjectionSettings(feature_weight=r.feature_weight), classifier)
    return loss_fn(G.synthesis(encoder(real), None, noise_mode="const")).mean()


def train_encoder(G, encoder, recipe: EncoderRecipe = EncoderRecipe(), real_images: Optional[torch.Tensor] = None,
                  progress: Optional[Callable[[EncoderStats], None]] = None, device="cpu",
                  should_stop: Optional[Callable[[], bool]] = None):
    """Train ``encoder`` (engine/inversion_encoder.InversionEncoder) on ``G`` (frozen) -> the encoder, eval mode.

    ``real_images`` float [N, C, H, W] in [-1, 1] feed the reconstruction loss (None: pairs only);
    ``progress`` gets an :class:`EncoderStats` every 50 steps and at the end; ``should_stop()`` true ends
    the training early (the encoder as it is then; ``encoder.steps_done`` says how far it went)."""
    r = recipe
    device = torch.device(device)
    G = G.to(device).float().eval().requires_grad_(False)
    encoder = encoder.to(device).train()
    gen = torch.Generator().manual_seed(int(r.seed))
    torch.manual_seed(int(r.seed))  # the synthesis noise of the generated pairs
    scale = 1.0 / _spread(G, gen, device) ** 2
    classifier = None
    if real_images is not None and r.real_batch and r.feature_weight > 0 and G.img_channels == 1:
        from ganstudio.engine.projection import feature_classifier
        classifier = feature_classifier(G, device)
    opt = torch.optim.Adam(encoder.parameters(), lr=r.lr, betas=(0.9, 0.99))
    t0 = time.time()
    encoder.steps_done = 0
    for step in range(r.steps):
        if should_stop is not None and should_stop():
            break
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, r)
        img, ws = generated_pairs(G, r.batch, r.mix_prob, gen, device)
        latent = ((encoder(img) - ws) ** 2).mean() * scale
        loss = r.latent_weight * latent
        recon = torch.zeros(())
        if real_images is not None and r.real_batch:
            idx = torch.randint(0, len(real_images), (r.real_batch,), generator=gen)
            recon = _recon_loss(G, encoder, real_images[idx].to(device), r, classifier)
            loss = loss + r.recon_weight * recon
        if not math.isfinite(float(loss.detach())):
            raise FloatingPointError(f"the encoder's loss became {float(loss)} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        encoder.steps_done = step + 1
        if progress is not None and ((step + 1) % 50 == 0 or step + 1 == r.steps):
            progress(EncoderStats(step + 1, float(latent.detach()), float(recon.detach()), time.time() - t0))
    return encoder.eval().requires_grad_(False)


def start_quality(G, encoder, images: torch.Tensor, device="cpu") -> dict:
    """Mean PSNR (dB) of the encoder's guess and of the mean latent, rendered, against ``images``."""
    from ganstudio.engine.projection import psnr
    with torch.no_grad():
        images = images.to(device)
        guess = G.synthesis(encoder(images), None, noise_mode="const")
        mean_ws = encoder.w_avg.reshape(1, 1, -1).expand(len(images), G.num_ws, -1)
        mean = G.synthesis(mean_ws, None, noise_mode="const")
    return {"n": len(images),
            "encoder_psnr": sum(psnr(a, b) for a, b in zip(guess, images)) / len(images),
            "mean_psnr": sum(psnr(a, b) for a, b in zip(mean, images)) / len(images)}


def recipe_dict(r: EncoderRecipe) -> dict:
    return dataclasses.asdict(r)
