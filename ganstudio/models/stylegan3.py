"""StyleGAN3, the alias-free generator (Karras et al. 2021), configurations T and R.

G keeps StyleGAN2's mapping network (``z -> w``, a short MLP here, ``w_avg`` for truncation) but
replaces the synthesis network: it starts from Fourier features (sinusoids of random frequencies
inside a disc, phase-shifted and rotated by a learned affine of the first ``w``) instead of a
learned constant, and every layer is a modulated convolution followed by a *filtered* leaky ReLU:
upsample by ``lrelu_upsampling``, apply the nonlinearity at that higher rate, low-pass filter and
resample to the layer's output rate, so that no frequency above the Nyquist limit is created
(paper sec. 3).  Cutoffs and stopbands grow geometrically from the first layer to the last, the
final ``num_critical`` layers are critically sampled, and maps carry a margin of ``margin_size``
pixels that the last two layers crop.  StyleGAN3-T uses 3x3 convolutions and separable Kaiser
filters; StyleGAN3-R 1x1 convolutions, radially symmetric (jinc) downsampling filters, and twice
the channels.  There is no per-pixel noise.

Module names, buffers and the maths of each step follow the description of NVIDIA's release
(``training/networks_stylegan3.py``): ``mapping.fc*``, ``synthesis.input`` with its ``affine``,
``weight``, ``freqs``, ``phases`` and the user ``transform``, then ``synthesis.L{i}_{size}_{ch}``
with ``affine``, ``weight``, ``bias``, ``magnitude_ema``, ``up_filter`` and ``down_filter``.  An
official pickle's state dict therefore loads by name; the filters are designed here (Kaiser-window
FIR, jinc) so an untrained model needs no SciPy, and imported ones bring their own.

The input transform (translate and rotate the image content, as NVIDIA's visualizer offers) is
``synthesis.input.transform`` (the inverse of the user's transform), or ``input_transform=`` per call.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.models._base import Capabilities, check_shape
from ganstudio.models._registry import register
from ganstudio.models.stylegan2 import (FullyConnectedLayer, MappedGenerator, MappingNetwork, StyleGAN2Config,
                                        StyleGAN2Discriminator)

_LRELU_GAIN = math.sqrt(2)


@dataclass
class StyleGAN3Config:
    z_dim: int = 512  # input latent dims
    w_dim: int = 512  # intermediate latent dims
    c_dim: int = 0  # number of classes, 0 = unconditional
    img_resolution: int = 256  # output resolution, a power of two >= 8
    img_channels: int = 3  # colour channels
    mapping_layers: int = 2  # depth of the mapping MLP (2 in StyleGAN3, 8 in StyleGAN2)
    mapping_lr_multiplier: float = 0.01  # the mapping network learns 100x slower
    w_avg_beta: float = 0.998  # decay of the running mean of w that truncation pulls towards
    channel_base: int = 32768  # channels of a layer are min(channel_base / 2 / cutoff, channel_max)
    channel_max: int = 512  # cap on the channels of any layer
    num_layers: int = 14  # synthesis layers, without the Fourier input and the ToRGB layer
    num_critical: int = 2  # critically sampled layers at the end
    first_cutoff: float = 2.0  # cutoff frequency of the first layer, f_c,0
    first_stopband: float = 2 ** 2.1  # minimum stopband of the first layer, f_t,0
    last_stopband_rel: float = 2 ** 0.3  # minimum stopband of the last layer, relative to its cutoff
    margin_size: int = 10  # extra pixels around every map, cropped by the last layers
    output_scale: float = 0.25  # the ToRGB output is scaled by this
    conv_kernel: int = 3  # 3 for StyleGAN3-T, 1 for StyleGAN3-R (ToRGB is always 1x1)
    filter_size: int = 6  # low-pass taps per unit of the resampling factor
    lrelu_upsampling: int = 2  # the nonlinearity runs at this multiple of the layer's sampling rate
    use_radial_filters: bool = False  # jinc downsampling filters in non-critical layers (StyleGAN3-R)
    conv_clamp: Optional[float] = 256.0  # clamp every layer's output to +-conv_clamp, None = off
    magnitude_ema_beta: float = 0.999  # decay of each layer's input-magnitude average (training only)
    d_channel_base: int = 32768  # D (StyleGAN2's resnet D, as NVIDIA trains StyleGAN3 with): capacity
    d_channel_max: int = 512  # D: cap on channels
    mbstd_group_size: int = 4  # D: minibatch-stddev group size


@dataclass
class StyleGAN3RConfig(StyleGAN3Config):
    """StyleGAN3-R: rotation equivariant; 1x1 convs, radial filters, channels doubled (NVIDIA's train.py)."""

    channel_base: int = 65536
    channel_max: int = 1024
    conv_kernel: int = 1
    use_radial_filters: bool = True


# -- filter design -----------------------------------------------------------------------------------

def _kaiser_beta(numtaps: int, width: float, fs: float) -> float:
    """Kaiser's window parameter for a transition band of ``width`` (Kaiser 1974 empirical formulas)."""
    atten = 2.285 * (numtaps - 1) * math.pi * (width / (fs / 2)) + 7.95  # stopband attenuation in dB
    if atten > 50:
        return 0.1102 * (atten - 8.7)
    if atten > 21:
        return 0.5842 * (atten - 21) ** 0.4 + 0.07886 * (atten - 21)
    return 0.0


def lowpass_filter(numtaps: int, cutoff: float, width: float, fs: float,
                   radial: bool = False) -> Optional[torch.Tensor]:
    """Windowed-sinc low-pass FIR with unit DC gain: separable taps [numtaps], or a radial jinc [numtaps, numtaps].

    ``cutoff`` and ``width`` (the transition band) are in the units of the sampling rate ``fs``.
    One tap is the identity, returned as None.
    """
    if numtaps < 1:
        raise ValueError(f"a filter needs at least one tap, got {numtaps}")
    if numtaps == 1:
        return None
    window = np.kaiser(numtaps, _kaiser_beta(numtaps, width, fs))
    if not radial:
        m = np.arange(numtaps) - (numtaps - 1) / 2
        nc = cutoff / (fs / 2)  # cutoff as a fraction of Nyquist
        f = nc * np.sinc(nc * m) * window
        return torch.as_tensor(f / f.sum(), dtype=torch.float32)
    x = (np.arange(numtaps) - (numtaps - 1) / 2) / fs
    r = np.hypot(*np.meshgrid(x, x))
    a = 2 * math.pi * cutoff
    # Designed on the CPU even while a model is built on the meta device (a size check).
    j1 = torch.special.bessel_j1(torch.as_tensor(a * r, dtype=torch.float64, device="cpu")).numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(r > 0, j1 / (math.pi * r), cutoff)  # jinc; its limit at r = 0 is the cutoff
    f = f * np.outer(window, window)
    return torch.as_tensor(f / f.sum(), dtype=torch.float32)


def _fir(x: torch.Tensor, f: Optional[torch.Tensor], up: int = 1, down: int = 1,
         padding: Sequence[int] = (0, 0, 0, 0), gain: float = 1.0) -> torch.Tensor:
    """Zero-insertion upsampling, padding [x0, x1, y0, y1] (negative crops), true convolution with f
    (separable taps or a 2-D kernel; None = identity), then keeping every down-th pixel."""
    n, c, h, w = x.shape
    if up > 1:
        x = F.pad(x.reshape(n, c, h, 1, w, 1), [0, up - 1, 0, 0, 0, up - 1]).reshape(n, c, h * up, w * up)
    if any(padding):
        x = F.pad(x, list(padding))
    if f is None:
        return x[:, :, ::down, ::down] if down > 1 else x
    f = f.to(x.dtype).flip(list(range(f.ndim)))
    if f.ndim == 1:  # gain spread over the two passes
        k = (f * gain ** 0.5)[None, None].expand(c, 1, -1)
        x = F.conv2d(x, k.unsqueeze(2), groups=c, stride=(1, down))
        return F.conv2d(x, k.unsqueeze(3), groups=c, stride=(down, 1))
    return F.conv2d(x, (f * gain)[None, None].expand(c, 1, -1, -1), groups=c, stride=down)


def filtered_lrelu(x: torch.Tensor, fu: Optional[torch.Tensor], fd: Optional[torch.Tensor], b: torch.Tensor,
                   up: int, down: int, padding: Sequence[int], gain: float, slope: float,
                   clamp: Optional[float]) -> torch.Tensor:
    """Bias, upsample by ``up`` (low-pass ``fu``), leaky ReLU x gain, clamp, low-pass ``fd``, downsample."""
    x = x + b.to(x.dtype).reshape(1, -1, 1, 1)
    x = _fir(x, fu, up=up, padding=padding, gain=up ** 2)
    x = F.leaky_relu(x, slope) if slope != 1 else x
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return _fir(x, fd, down=down)


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True,
                     padding: int = 0, input_gain: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Per-sample modulated conv as one grouped conv; weights and styles are pre-normalised to unit
    mean square before modulation (keeps half precision in range), which demodulation cancels."""
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    check_shape(styles, [n, in_ch], "styles")
    if demodulate:
        weight = weight * weight.square().mean(dim=[1, 2, 3], keepdim=True).rsqrt()
        styles = styles * styles.square().mean(dim=1, keepdim=True).rsqrt()  # per sample: batch-independent
    wmod = weight.unsqueeze(0) * styles.reshape(n, 1, in_ch, 1, 1)
    if demodulate:
        wmod = wmod * (wmod.square().sum(dim=[2, 3, 4], keepdim=True) + 1e-8).rsqrt()
    if input_gain is not None:
        wmod = wmod * input_gain  # a scalar: 1 / the layer's typical input magnitude
    x = F.conv2d(x.reshape(1, -1, *x.shape[2:]), wmod.reshape(-1, in_ch, kh, kw).to(x.dtype),
                 padding=padding, groups=n)
    return x.reshape(n, out_ch, *x.shape[2:])


# -- the input transform -------------------------------------------------------------------------------

def make_input_transform(translate: Sequence[float] = (0.0, 0.0), rotate: float = 0.0) -> torch.Tensor:
    """The user transform of the image content [3, 3], as NVIDIA's ``gen_images.make_transform``:
    ``translate`` in image widths (+x moves the content right, +y down), ``rotate`` in degrees
    (counter-clockwise on screen)."""
    tx, ty = (float(v) for v in translate)
    a = math.radians(float(rotate))
    if not all(math.isfinite(v) for v in (tx, ty, a)):
        raise ValueError(f"the input transform must be finite, got translate={translate!r} rotate={rotate!r}")
    s, c = math.sin(a), math.cos(a)
    return torch.tensor([[c, s, tx], [-s, c, ty], [0.0, 0.0, 1.0]], dtype=torch.float64)


def _inverse_transform(m: torch.Tensor) -> torch.Tensor:
    """What ``synthesis.input.transform`` holds for the user transform m ([3, 3] or [N, 3, 3])."""
    if not isinstance(m, torch.Tensor):
        m = torch.as_tensor(np.asarray(m, dtype=np.float64))
    if m.shape[-2:] != (3, 3) or m.ndim not in (2, 3):
        raise ValueError(f"input_transform must have shape [3, 3] or [N, 3, 3], got {list(m.shape)}")
    m = m.to(torch.float64)
    if not torch.isfinite(m).all() or (torch.linalg.det(m).abs() < 1e-12).any():
        raise ValueError("input_transform must be a finite, invertible 3x3 matrix")
    return torch.linalg.inv(m).float()


# -- layers --------------------------------------------------------------------------------------------

class SynthesisInput(nn.Module):
    """Fourier features of random frequencies in a disc of radius ``bandwidth``, transformed per sample."""

    def __init__(self, w_dim: int, channels: int, size: int, sampling_rate: float, bandwidth: float):
        super().__init__()
        self.w_dim, self.channels, self.size = w_dim, channels, int(size)
        self.sampling_rate, self.bandwidth = float(sampling_rate), float(bandwidth)
        freqs = torch.randn(channels, 2)
        radii = freqs.square().sum(dim=1, keepdim=True).sqrt()
        freqs = freqs / (radii * radii.square().exp().pow(0.25)) * bandwidth  # uniform-ish in the disc
        self.weight = nn.Parameter(torch.randn(channels, channels))
        # The affine gives (cos, sin, tx, ty) of a rotation and translation; it starts as the identity.
        self.affine = FullyConnectedLayer(w_dim, 4)
        with torch.no_grad():
            self.affine.weight.zero_()
            self.affine.bias.copy_(torch.tensor([1.0, 0.0, 0.0, 0.0]))
        self.register_buffer("transform", torch.eye(3))  # the inverse of the user's transform of the image
        self.register_buffer("freqs", freqs)
        self.register_buffer("phases", torch.rand(channels) - 0.5)

    def forward(self, w: torch.Tensor, transform: Optional[torch.Tensor] = None) -> torch.Tensor:
        n = w.shape[0]
        user = self.transform if transform is None else transform.to(w.device, torch.float32)
        t = self.affine(w)
        t = t / t[:, :2].norm(dim=1, keepdim=True)  # a pure rotation: unit (cos, sin)
        eye = torch.eye(3, device=w.device).expand(n, 3, 3)
        m_r = eye.clone()
        m_r[:, 0, 0], m_r[:, 0, 1], m_r[:, 1, 0], m_r[:, 1, 1] = t[:, 0], -t[:, 1], t[:, 1], t[:, 0]
        m_t = eye.clone()
        m_t[:, 0, 2], m_t[:, 1, 2] = -t[:, 2], -t[:, 3]
        m = m_r @ m_t @ user.expand(n, 3, 3)  # the learned rotation, then translation, then the user's
        phases = self.phases + (self.freqs @ m[:, :2, 2:]).squeeze(2)  # [N, C]
        freqs = self.freqs @ m[:, :2, :2]  # [N, C, 2]
        # A user transform (a zoom) may push frequencies past Nyquist: fade those out instead of aliasing.
        amp = (1 - (freqs.norm(dim=2) - self.bandwidth) / (self.sampling_rate / 2 - self.bandwidth)).clamp(0, 1)
        g = (torch.arange(self.size, device=w.device, dtype=torch.float32) + 0.5 - self.size / 2) / self.sampling_rate
        x = (g[None, None, :, None] * freqs[:, None, None, :, 0] + g[None, :, None, None] * freqs[:, None, None, :, 1]
             + phases[:, None, None, :])  # [N, H, W, C]
        x = torch.sin(x * (2 * math.pi)) * amp[:, None, None, :]
        x = x @ (self.weight / math.sqrt(self.channels)).t()
        return x.permute(0, 3, 1, 2)


class LayerSpec(NamedTuple):
    """Where a synthesis layer sits in the frequency plan (rates and cutoffs in cycles per image)."""

    in_channels: int
    out_channels: int
    in_size: int  # pixels per side, margins included
    out_size: int
    in_sampling_rate: int
    out_sampling_rate: int
    in_cutoff: float
    out_cutoff: float
    in_half_width: float  # half the transition band, f_h
    out_half_width: float
    is_torgb: bool
    is_critically_sampled: bool


class SynthesisLayer(nn.Module):
    """Modulated conv, then the filtered leaky ReLU that moves from the input's rate to the output's."""

    def __init__(self, w_dim: int, spec: LayerSpec, conv_kernel: int = 3, filter_size: int = 6,
                 lrelu_upsampling: int = 2, use_radial_filters: bool = False, conv_clamp: Optional[float] = 256.0,
                 magnitude_ema_beta: float = 0.999):
        super().__init__()
        self.spec, self.w_dim, self.is_torgb = spec, w_dim, spec.is_torgb
        self.in_channels, self.out_channels = spec.in_channels, spec.out_channels
        self.in_size, self.out_size = spec.in_size, spec.out_size
        self.out_sampling_rate = spec.out_sampling_rate
        self.conv_kernel = 1 if spec.is_torgb else conv_kernel
        self.conv_clamp, self.magnitude_ema_beta = conv_clamp, magnitude_ema_beta
        tmp_rate = max(spec.in_sampling_rate, spec.out_sampling_rate) * (1 if spec.is_torgb else lrelu_upsampling)
        self.up_factor = _ratio(tmp_rate, spec.in_sampling_rate)
        self.down_factor = _ratio(tmp_rate, spec.out_sampling_rate)
        self.affine = FullyConnectedLayer(w_dim, self.in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(self.out_channels, self.in_channels, self.conv_kernel, self.conv_kernel))
        self.bias = nn.Parameter(torch.zeros(self.out_channels))
        self.register_buffer("magnitude_ema", torch.ones([]))
        # Filters span filter_size samples of the lower rate: filter_size x factor taps at the higher one.
        up_taps = filter_size * self.up_factor if self.up_factor > 1 and not spec.is_torgb else 1
        down_taps = filter_size * self.down_factor if self.down_factor > 1 and not spec.is_torgb else 1
        self.down_radial = use_radial_filters and not spec.is_critically_sampled
        self.register_buffer("up_filter", lowpass_filter(up_taps, spec.in_cutoff, spec.in_half_width * 2, tmp_rate))
        self.register_buffer("down_filter", lowpass_filter(down_taps, spec.out_cutoff, spec.out_half_width * 2,
                                                           tmp_rate, radial=self.down_radial))
        # Pad so that out_size samples remain after conv, filters and resampling, centred as in App. C.3.
        total = (spec.out_size - 1) * self.down_factor + 1
        total -= (spec.in_size + self.conv_kernel - 1) * self.up_factor
        total += up_taps + down_taps - 2
        lo = (total + self.up_factor) // 2
        self.padding = (lo, total - lo, lo, total - lo)

    def forward(self, x: torch.Tensor, w: torch.Tensor, update_emas: bool = False) -> torch.Tensor:
        check_shape(x, [None, self.in_channels, self.in_size, self.in_size], "x")
        check_shape(w, [x.shape[0], self.w_dim], "w")
        if update_emas:
            with torch.no_grad():
                cur = x.detach().float().square().mean()
                self.magnitude_ema.copy_(cur.lerp(self.magnitude_ema, self.magnitude_ema_beta))
        styles = self.affine(w)
        if self.is_torgb:
            styles = styles / math.sqrt(self.in_channels * self.conv_kernel ** 2)
        x = modulated_conv2d(x, self.weight, styles, demodulate=not self.is_torgb, padding=self.conv_kernel - 1,
                             input_gain=self.magnitude_ema.rsqrt())
        gain, slope = (1.0, 1.0) if self.is_torgb else (_LRELU_GAIN, 0.2)
        x = filtered_lrelu(x, self.up_filter, self.down_filter, self.bias, self.up_factor, self.down_factor,
                           self.padding, gain, slope, self.conv_clamp)
        check_shape(x, [None, self.out_channels, self.out_size, self.out_size], "layer output")
        return x


def _ratio(high: float, low: float) -> int:
    k = int(round(high / low))
    if k < 1 or k * low != high:
        raise ValueError(f"sampling rates {high:g} and {low:g} are not integer multiples")
    return k


def layer_plan(cfg: StyleGAN3Config) -> list[LayerSpec]:
    """The frequency plan of sec. 3.2 / App. F: the input (index 0) and every synthesis layer after it."""
    res, n, crit = cfg.img_resolution, cfg.num_layers, cfg.num_critical
    if res < 8 or res & (res - 1):
        raise ValueError(f"StyleGAN3 resolution must be a power of two >= 8, got {res}")
    if not 0 <= crit < n:
        raise ValueError(f"num_critical must be in [0, num_layers), got {crit} with num_layers={n}")
    if cfg.first_cutoff <= 0 or cfg.first_stopband <= cfg.first_cutoff or cfg.last_stopband_rel <= 1:
        raise ValueError("need 0 < first_cutoff < first_stopband and last_stopband_rel > 1")
    # Bounds far beyond NVIDIA's settings (margin 10, filters of 6 taps per unit, lrelu at 2x): a radial
    # filter takes (filter_size x factor)^2 doubles to design, which a crafted import must not inflate.
    if not (0 <= cfg.margin_size <= 256 and 1 <= cfg.conv_kernel <= 9 and 1 <= cfg.filter_size <= 32
            and 1 <= cfg.lrelu_upsampling <= 8):
        raise ValueError("need 0 <= margin_size <= 256, 1 <= conv_kernel <= 9, 1 <= filter_size <= 32 and "
                         "1 <= lrelu_upsampling <= 8")
    last_cutoff = res / 2
    e = np.minimum(np.arange(n + 1) / (n - crit), 1)
    cutoffs = cfg.first_cutoff * (last_cutoff / cfg.first_cutoff) ** e
    stopbands = cfg.first_stopband * (last_cutoff * cfg.last_stopband_rel / cfg.first_stopband) ** e
    rates = np.exp2(np.ceil(np.log2(np.minimum(stopbands * 2, res))))
    half_widths = np.maximum(stopbands, rates / 2) - cutoffs
    sizes = rates + cfg.margin_size * 2
    sizes[-2:] = res
    channels = np.rint(np.minimum((cfg.channel_base / 2) / cutoffs, cfg.channel_max))
    channels[-1] = cfg.img_channels
    if (channels < 1).any():
        raise ValueError(f"channel_base={cfg.channel_base} leaves a layer without channels")
    out = []
    for i in range(n + 1):
        p = max(i - 1, 0)
        out.append(LayerSpec(int(channels[p]), int(channels[i]), int(sizes[p]), int(sizes[i]), int(rates[p]),
                             int(rates[i]), float(cutoffs[p]), float(cutoffs[i]), float(half_widths[p]),
                             float(half_widths[i]), i == n, i >= n - crit))
    return out


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image: ws[0] drives the Fourier input, ws[i] layer i - 1 (the last: ToRGB)."""

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__()
        plan = layer_plan(cfg)
        self.w_dim, self.img_resolution, self.img_channels = cfg.w_dim, cfg.img_resolution, cfg.img_channels
        self.num_ws = cfg.num_layers + 2
        self.output_scale = cfg.output_scale
        first = plan[0]
        self.input = SynthesisInput(cfg.w_dim, first.in_channels, first.in_size, first.in_sampling_rate,
                                    first.in_cutoff)
        self.layer_names = []
        for i, spec in enumerate(plan):
            layer = SynthesisLayer(cfg.w_dim, spec, conv_kernel=cfg.conv_kernel, filter_size=cfg.filter_size,
                                   lrelu_upsampling=cfg.lrelu_upsampling, use_radial_filters=cfg.use_radial_filters,
                                   conv_clamp=cfg.conv_clamp, magnitude_ema_beta=cfg.magnitude_ema_beta)
            name = f"L{i}_{spec.out_size}_{spec.out_channels}"
            setattr(self, name, layer)
            self.layer_names.append(name)

    def layers(self) -> list[SynthesisLayer]:
        return [getattr(self, name) for name in self.layer_names]

    def forward(self, ws: torch.Tensor, c: Optional[torch.Tensor] = None, *, input_transform=None,
                noise_mode: str = "const", noise_inputs: Optional[list] = None, noise_strength: float = 1.0,
                clamp: Optional[bool] = None, update_emas: bool = False) -> torch.Tensor:
        """Render ws.  ``input_transform``: the user's [3, 3] (or per-sample [N, 3, 3]) transform of the image
        content for this call (see :func:`make_input_transform`), else ``input.transform`` applies.
        There is no noise: the noise arguments are accepted for the common interface and must be empty.
        ``clamp=None`` clamps to [-1, 1] in eval mode only."""
        check_shape(ws, [None, self.num_ws, self.w_dim], "ws")
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
        if noise_inputs is not None and any(t is not None for t in noise_inputs):
            raise ValueError("StyleGAN3 has no noise layers: noise_inputs must be empty")
        transform = None
        if input_transform is not None:
            transform = _inverse_transform(input_transform)
            if transform.ndim == 3 and transform.shape[0] not in (1, ws.shape[0]):
                raise ValueError(f"input_transform has {transform.shape[0]} matrices for {ws.shape[0]} samples")
        ws = ws.to(torch.float32).unbind(dim=1)
        x = self.input(ws[0], transform)
        for layer, w in zip(self.layers(), ws[1:]):
            x = layer(x, w, update_emas=update_emas)
        if self.output_scale != 1:
            x = x * self.output_scale
        if clamp or (clamp is None and not self.training):
            x = x.clamp(-1, 1)
        return x


class StyleGAN3Generator(MappedGenerator):
    """``.mapping`` (StyleGAN2's MappingNetwork) and ``.synthesis`` are submodules, as in NVIDIA's code."""

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__()
        self.z_dim, self.w_dim, self.c_dim = cfg.z_dim, cfg.w_dim, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.synthesis = SynthesisNetwork(cfg)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(cfg.z_dim, cfg.c_dim, cfg.w_dim, num_ws=self.num_ws,
                                      num_layers=cfg.mapping_layers, lr_multiplier=cfg.mapping_lr_multiplier,
                                      w_avg_beta=cfg.w_avg_beta)

    @torch.no_grad()
    def set_input_transform(self, translate: Sequence[float] = (0.0, 0.0), rotate: float = 0.0) -> None:
        """Translate (image widths) and rotate (degrees) the content of every later render, as NVIDIA's
        visualizer does by writing ``synthesis.input.transform``."""
        self.synthesis.input.transform.copy_(_inverse_transform(make_input_transform(translate, rotate)))

    def layer_resolutions(self) -> list[int]:
        """The detail each ws index controls, as a resolution: twice the cutoff its layer band-limits to.

        Not the sampling rate, which is padded up to a power of two for the stopband: the first layers
        of a 256 px model all sample at 16 px while their cutoffs grow from 2 to 6 cycles."""
        cutoffs = [self.synthesis.input.bandwidth] + [layer.spec.out_cutoff for layer in self.synthesis.layers()]
        return [max(1, round(2 * f)) for f in cutoffs]

    def capabilities(self) -> Capabilities:
        return Capabilities(truncation="w", classes=self.c_dim > 0, class_space="embedding", style_layers=True,
                            layer_resolutions=tuple(int(r) for r in self.layer_resolutions()),
                            input_transform=True)

    def style_affines(self) -> list[tuple[int, str, FullyConnectedLayer]]:
        """(ws index, kind, affine) of every styled module: "input", "conv" or "torgb"."""
        out = [(0, "input", self.synthesis.input.affine)]
        for i, layer in enumerate(self.synthesis.layers(), start=1):
            out.append((i, "torgb" if layer.is_torgb else "conv", layer.affine))
        return out

    def sefa_weight(self, layers: Optional[Sequence[int]] = None) -> torch.Tensor:
        """SeFa's A (Shen & Zhou 2021): the stacked style weights [out, w_dim] of the ws indices ``layers``.

        None = every conv layer; the input's 4-d transform affine and the ToRGB count only when chosen."""
        affines = self.style_affines()
        if layers is None:
            chosen = [a for _, kind, a in affines if kind == "conv"]
        else:
            layers = sorted({int(i) for i in layers})
            bad = [i for i in layers if not 0 <= i < self.num_ws]
            if bad or not layers:
                raise ValueError(f"layers must be ws indices in [0, {self.num_ws}), got {bad or 'none'}")
            chosen = [a for j, _, a in affines if j in layers]
        return torch.cat([a.weight * a.weight_gain for a in chosen], dim=0).detach()


class StyleGAN3Discriminator(StyleGAN2Discriminator):
    """StyleGAN2's resnet D, which NVIDIA's training pairs with StyleGAN3 generators."""

    def __init__(self, cfg: StyleGAN3Config):
        super().__init__(StyleGAN2Config(z_dim=cfg.z_dim, w_dim=cfg.w_dim, c_dim=cfg.c_dim,
                                         img_resolution=cfg.img_resolution, img_channels=cfg.img_channels,
                                         channel_base=cfg.d_channel_base, channel_max=cfg.d_channel_max,
                                         mbstd_group_size=cfg.mbstd_group_size))


_PAPER = ("Karras, Aittala, Laine, Härkönen, Hellsten, Lehtinen, Aila. Alias-Free Generative Adversarial "
          "Networks. NeurIPS 2021.")
_TINY = dict(z_dim=16, w_dim=16, img_resolution=16, num_layers=4, margin_size=4, channel_base=128, channel_max=16,
             d_channel_base=128, d_channel_max=16)
register("stylegan3-t", family="stylegan3", config_cls=StyleGAN3Config, generator=StyleGAN3Generator,
         discriminator=StyleGAN3Discriminator, tiny=_TINY, paper=_PAPER,
         description="Alias-free StyleGAN3-T: Fourier-feature input, filtered nonlinearities, translation "
                     "equivariant; no noise inputs.")
register("stylegan3-r", family="stylegan3", config_cls=StyleGAN3RConfig, generator=StyleGAN3Generator,
         discriminator=StyleGAN3Discriminator, tiny={**_TINY, "channel_base": 256, "channel_max": 32}, paper=_PAPER,
         description="Alias-free StyleGAN3-R: 1x1 convolutions and radial filters, rotation equivariant; "
                     "no noise inputs.")
