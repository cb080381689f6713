"""How close a reconstruction is to its target: PSNR, SSIM, and the classifier-feature distance.

SSIM is written from Wang, Bovik, Sheikh & Simoncelli 2004, "Image Quality Assessment: From Error
Visibility to Structural Similarity", sec. III-B/C: local means, variances and covariance under an
11x11 circular-symmetric Gaussian window (sigma 1.5, normalised to sum 1), computed only where the
window fits inside the image, C1 = (K1 L)^2 and C2 = (K2 L)^2 with K1 = 0.01, K2 = 0.03 and the
dynamic range L = 1 (images mapped from [-1, 1] to [0, 1]); the index is the mean of the SSIM map
(MSSIM), computed per colour channel and averaged.  Images smaller than the window use a window
as large as the image.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

WINDOW = 11
SIGMA = 1.5
K1, K2 = 0.01, 0.03


def gaussian_window(size: int = WINDOW, sigma: float = SIGMA) -> torch.Tensor:
    """[size, size] Gaussian weights summing to 1."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-x ** 2 / (2 * sigma ** 2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def _as_batch(x: torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(x).detach().double()
    return x[None] if x.ndim == 3 else x


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = WINDOW, sigma: float = SIGMA) -> torch.Tensor:
    """Mean SSIM of images in [-1, 1], [C, H, W] or [N, C, H, W] -> a float tensor [N] (1 when identical)."""
    a, b = _as_batch(a), _as_batch(b)
    if a.shape != b.shape or a.ndim != 4:
        raise ValueError(f"ssim needs two images of one shape [N, C, H, W], got {list(a.shape)} and {list(b.shape)}")
    a, b = (a + 1) / 2, (b + 1) / 2  # dynamic range L = 1
    n, c, h, w = a.shape
    size = min(window, h, w)
    k = gaussian_window(size, sigma).to(a.device)[None, None].repeat(c, 1, 1, 1)

    def blur(x):
        return F.conv2d(x, k, groups=c)  # 'valid': only where the window fits

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    c1, c2 = K1 ** 2, K2 ** 2
    smap = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return smap.flatten(1).mean(1).float()


def psnr_batch(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """PSNR in dB per image of images in [-1, 1] (peak 2), [N]; inf where identical."""
    a, b = _as_batch(a), _as_batch(b)
    mse = ((a - b) ** 2).flatten(1).mean(1)
    return torch.tensor([math.inf if float(m) == 0 else 10 * math.log10(4.0 / float(m)) for m in mse])


def feature_distance(a: torch.Tensor, b: torch.Tensor, classifier) -> torch.Tensor:
    """Euclidean distance [N] between the shipped Fashion-MNIST classifier's 128-d features of grey images
    (training/classifier.py: the features FCD uses)."""
    a, b = _as_batch(a).float(), _as_batch(b).float()
    if a.shape[1] != 1:
        raise ValueError("the classifier's features are defined for grey images only")
    return (_at_resolution(classifier, classifier.features, a) -
            _at_resolution(classifier, classifier.features, b)).norm(dim=1).cpu()


def _at_resolution(net, forward, x: torch.Tensor) -> torch.Tensor:
    """forward(x) without gradients, x resized to the network's resolution and moved to its device."""
    size = net.cfg.resolution
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    with torch.no_grad():
        return forward(x.to(next(net.parameters()).device))


def probe_distance(a: torch.Tensor, b: torch.Tensor, probe) -> tuple[torch.Tensor, torch.Tensor]:
    """What the shipped shapes factor probe (training/factor_probe.py) reads differently in two RGB images:
    (Euclidean distance [N] of its 9 regression outputs: (sin, cos) of both hues and of the rotation, scale,
    x and y on [0, 1]; whether it reads the same shape [N] bool)."""
    from ganstudio.training.factor_probe import SHAPE_NAMES
    a, b = _as_batch(a).float(), _as_batch(b).float()
    if a.shape[1] != 3:
        raise ValueError("the factor probe reads RGB images only")
    oa, ob = _at_resolution(probe, probe, a).cpu(), _at_resolution(probe, probe, b).cpu()
    k = len(SHAPE_NAMES)
    return (oa[:, k:] - ob[:, k:]).norm(dim=1), oa[:, :k].argmax(1) == ob[:, :k].argmax(1)
