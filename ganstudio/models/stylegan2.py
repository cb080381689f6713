"""StyleGAN2 (Karras et al. 2020), built on the style-based generator of StyleGAN (Karras et al. 2019).

G = a mapping MLP ``z -> w`` (lr multiplier 0.01, w tracked as a running mean ``w_avg`` for
truncation) and a synthesis network that starts from a learned 4x4 constant and, per
resolution, applies modulated/demodulated 3x3 convolutions (one style ``w`` per layer, via a
learned affine), per-pixel noise scaled by a learned strength, and a "skip" sum of ToRGB outputs
upsampled with the [1,3,3,1] FIR filter.  D is the residual ("resnet") discriminator with a
minibatch-stddev feature and, for class-conditional models, a projection onto a mapping of c.

Module names, parameter shapes, buffers and initialisation follow NVIDIA's PyTorch release
(stylegan2-ada-pytorch / stylegan3 ``networks_stylegan2``): ``mapping.fc0..``, ``mapping.embed``,
``mapping.w_avg``, ``synthesis.b4.const``, ``synthesis.b{r}.conv0/conv1/torgb`` with
``affine``, ``noise_const``, ``noise_strength`` and ``resample_filter``.  Official state dicts
therefore load by name, and the importers only have to rename foreign layouts onto this one.
Resampling (upfirdn2d) is written with plain torch ops so that it runs on every device.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape
from ganstudio.models._layers import EqualizedLinear
from ganstudio.models._registry import register

_LRELU_GAIN = math.sqrt(2)  # keeps the activation variance of lrelu(0.2) near that of its input (He init)
_ARCHITECTURES = ("orig", "skip", "resnet")


@dataclass
class StyleGAN2Config:
    z_dim: int = 512  # input latent dims
    w_dim: int = 512  # intermediate latent dims
    c_dim: int = 0  # number of classes, 0 = unconditional
    img_resolution: int = 256  # output resolution, a power of two >= 4
    img_channels: int = 3  # colour channels
    mapping_layers: int = 8  # depth of the mapping MLP
    mapping_lr_multiplier: float = 0.01  # the mapping network learns 100x slower (StyleGAN, App. C)
    w_avg_beta: float = 0.995  # decay of the running mean of w that truncation pulls towards
    channel_base: int = 32768  # channels at resolution r are min(channel_base // r, channel_max)
    channel_max: int = 512  # cap on the channels of any layer
    conv_clamp: Optional[float] = None  # clamp conv outputs to +-conv_clamp (used with mixed precision), None = off
    architecture: str = "skip"  # G output architecture: "orig", "skip" (paper config E/F) or "resnet"
    resample_filter: tuple = (1, 3, 3, 1)  # low-pass FIR filter used around every up/downsampling
    use_noise: bool = True  # per-pixel noise inputs in every synthesis conv layer
    d_architecture: str = "resnet"  # D architecture: "orig", "skip" or "resnet" (paper config E/F)
    mbstd_group_size: int = 4  # minibatch-stddev group size (ProGAN sec. 3)
    mbstd_num_channels: int = 1  # minibatch-stddev features, 0 = disable the layer
    cmap_dim: Optional[int] = None  # conditional D: dims of the projected class map, None = channels at 4x4
    d_mapping_layers: int = 8  # conditional D: depth of the MLP that maps c to the class map


# -- resampling ------------------------------------------------------------------------------------

def make_filter(taps: Sequence[float]) -> torch.Tensor:
    """Separable FIR taps -> normalised 2-D filter [k, k] with unit DC gain."""
    f = torch.as_tensor(list(taps), dtype=torch.float32)
    if f.ndim != 1 or f.numel() == 0:
        raise ValueError(f"resample_filter must be a non-empty 1-D list of taps, got {taps!r}")
    f = torch.outer(f, f)
    return f / f.sum()


def upfirdn2d(x: torch.Tensor, f: torch.Tensor, up: int = 1, down: int = 1, pad: tuple[int, int] = (0, 0),
              gain: float = 1.0) -> torch.Tensor:
    """Upsample by zero insertion, pad (before, after; negative crops), convolve with f, keep every down-th pixel.

    The same padding is used on both axes.  ``f`` is applied as a true convolution (flipped),
    which only matters for asymmetric filters.
    """
    n, c, h, w = x.shape
    if up > 1:
        # Zero insertion: every input pixel is followed by up-1 zeros along each axis.
        x = x.reshape(n, c, h, 1, w, 1)
        x = F.pad(x, [0, up - 1, 0, 0, 0, up - 1])
        x = x.reshape(n, c, h * up, w * up)
    p0, p1 = pad
    if p0 or p1:
        x = F.pad(x, [p0, p1, p0, p1])
    k = (f * gain).flip([0, 1]).to(x.dtype)
    k = k[None, None].expand(c, 1, *f.shape)
    return F.conv2d(x, k, groups=c, stride=down)


def upsample2d(x: torch.Tensor, f: torch.Tensor, up: int = 2) -> torch.Tensor:
    """Resolution x up, low-pass filtered; output shape is exactly input shape x up."""
    k = f.shape[-1]
    return upfirdn2d(x, f, up=up, pad=((k + up - 1) // 2, (k - up) // 2), gain=up * up)


def downsample2d(x: torch.Tensor, f: torch.Tensor, down: int = 2) -> torch.Tensor:
    """Low-pass filter, then keep every down-th pixel; output shape is exactly input shape / down."""
    k = f.shape[-1]
    return upfirdn2d(x, f, down=down, pad=((k - down + 1) // 2, (k - down) // 2))


def conv2d_resample(x: torch.Tensor, w: torch.Tensor, f: Optional[torch.Tensor] = None, up: int = 1, down: int = 1,
                    padding: int = 0, groups: int = 1, flip_weight: bool = True) -> torch.Tensor:
    """Convolution with optional FIR-filtered 2x up- or downsampling, padding applied once.

    ``flip_weight=True`` means correlation (what F.conv2d does); False means a true convolution.
    Upsampling convolves at the low resolution with a strided transposed conv and filters
    afterwards, which is 4x cheaper than convolving the zero-stuffed image.
    """
    out_ch, in_per_group, kh, kw = w.shape
    if up > 1 and down > 1:
        raise ValueError("conv2d_resample: up and down at once is not supported")
    fk = 1 if f is None else f.shape[-1]
    if up > 1:
        p0 = padding + (fk + up - 1) // 2
        p1 = padding + (fk - up) // 2
        if kw == 1:
            x = F.conv2d(x, w, groups=groups)
            return upfirdn2d(x, f, up=up, pad=(p0, p1), gain=up * up)
        # conv_transpose2d convolves (flipped kernel); flip first when correlation is wanted.
        if flip_weight:
            w = w.flip([2, 3])
        if groups == 1:
            wt = w.transpose(0, 1)
        else:
            wt = w.reshape(groups, out_ch // groups, in_per_group, kh, kw).transpose(1, 2)
            wt = wt.reshape(groups * in_per_group, out_ch // groups, kh, kw)
        # The transposed conv already produces (kw - 1) border pixels on the left and (kw - up) on the right.
        p0 -= kw - 1
        p1 -= kw - up
        x = F.conv_transpose2d(x, wt, stride=up, groups=groups)
        return upfirdn2d(x, f, pad=(p0, p1), gain=up * up)
    if not flip_weight:
        w = w.flip([2, 3])
    if down > 1:
        p0 = padding + (fk - down + 1) // 2
        p1 = padding + (fk - down) // 2
        if kw == 1:
            return F.conv2d(upfirdn2d(x, f, down=down, pad=(p0, p1)), w, groups=groups)
        return F.conv2d(upfirdn2d(x, f, pad=(p0, p1)), w, stride=down, groups=groups)
    return F.conv2d(x, w, padding=padding, groups=groups)


def bias_act(x: torch.Tensor, b: Optional[torch.Tensor], act: str = "linear", gain: float = 1.0,
             clamp: Optional[float] = None) -> torch.Tensor:
    """Add a per-channel bias, apply the activation, scale by gain, optionally clamp."""
    if b is not None:
        x = x + b.reshape([1, -1] + [1] * (x.ndim - 2))
    if act == "lrelu":
        x = F.leaky_relu(x, 0.2)
    elif act != "linear":
        raise ValueError(f"unknown activation {act!r}")
    if gain != 1:
        x = x * gain
    if clamp is not None:
        x = x.clamp(-clamp, clamp)
    return x


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale each vector to unit mean square (the PixelNorm that precedes the mapping network)."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def modulated_conv2d(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, noise: Optional[torch.Tensor] = None,
                     up: int = 1, padding: int = 0, resample_filter: Optional[torch.Tensor] = None,
                     demodulate: bool = True, flip_weight: bool = True, fused_modconv: bool = True,
                     exact_norms: bool = False, weight_sq_sum: Optional[torch.Tensor] = None) -> torch.Tensor:
    """StyleGAN2 sec. 2.2: scale input channels by the style, conv, then divide out the expected output std.

    Two forms of the same function (pixels agree to float rounding; ``fused_modconv_for`` picks one):
    fused: every sample gets its own modulated kernel and one grouped conv runs them all;
    unfused: scale the activations instead, so the batch shares one kernel and one dense conv.
    ``exact_norms`` (training): the unfused form takes its demodulation norms from the per-sample
    kernels as it always did, so that runs resume bit-exactly; otherwise from (s^2) . sum W^2, where
    ``weight_sq_sum`` (``weight.square().sum(dim=[2, 3])``, a layer's inference cache) spares that sum.
    """
    n = x.shape[0]
    out_ch, in_ch, kh, kw = weight.shape
    check_shape(styles, [n, in_ch], "styles")
    if not fused_modconv:
        dcoefs = None
        if demodulate and exact_norms:
            wmod = weight.unsqueeze(0) * styles.reshape(n, 1, in_ch, 1, 1)  # [N, O, I, k, k]
            dcoefs = (wmod.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt()  # [N, O]
        elif demodulate:
            # sum_ikk (W s)^2 = (s^2) . sum_kk W^2: the norm without building N modulated kernels,
            # which cost more than the conv itself at batch 16 (N x 512 x 512 x 9 floats per layer).
            if weight_sq_sum is None:
                weight_sq_sum = weight.square().sum(dim=[2, 3])
            dcoefs = (styles.square() @ weight_sq_sum.to(styles.dtype).T + 1e-8).rsqrt()  # [N, O]
        x = x * styles.to(x.dtype).reshape(n, -1, 1, 1)
        x = conv2d_resample(x, weight.to(x.dtype), resample_filter, up=up, padding=padding, flip_weight=flip_weight)
        if dcoefs is not None:
            x = x * dcoefs.to(x.dtype).reshape(n, -1, 1, 1)
        if noise is not None:
            x = x + noise.to(x.dtype)
        return x
    wmod = weight.unsqueeze(0) * styles.reshape(n, 1, in_ch, 1, 1)  # [N, O, I, k, k]
    if demodulate:
        wmod = wmod * (wmod.square().sum(dim=[2, 3, 4]) + 1e-8).rsqrt().reshape(n, -1, 1, 1, 1)
    x = x.reshape(1, -1, *x.shape[2:])
    wmod = wmod.reshape(-1, in_ch, kh, kw)
    x = conv2d_resample(x, wmod.to(x.dtype), resample_filter, up=up, padding=padding, groups=n,
                        flip_weight=flip_weight)
    x = x.reshape(n, -1, *x.shape[2:])
    if noise is not None:
        x = x + noise
    return x


def fused_modconv_for(batch: int, device: torch.device, training: bool) -> bool:
    """The faster modulated-conv form for a forward pass (both give the same pixels).

    Training keeps the unfused form it has always used (as NVIDIA's).  On a CPU a batch renders
    unfused too: grouped convs of one sample each made a batch of 16 cost 1.61x per image what one
    image does (256 px paper256 widths; 1.8x at 64 px in issue 17), the dense conv with chunked
    large resolutions (``_cpu_split``) 0.96x (benchmarks/stylegan2_batch.py, 1 thread, CPU time).
    A single image on a CPU renders dense as well: with the layers' kept sum of W^2 it costs 0.46x the
    grouped form at a 4 px drag preview, 0.55x at 8 px, 0.70x at 16 px and 0.98x in full (paper256, one
    thread), and batch 1 and batch N then share one form.  An accelerator keeps the grouped form
    NVIDIA's inference uses.
    """
    if training:
        return False
    return torch.device(device).type != "cpu"


# -- layers ----------------------------------------------------------------------------------------

class FullyConnectedLayer(EqualizedLinear):
    """Equalized-lr linear layer with an optional lrelu (scaled by sqrt 2)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, activation: str = "linear",
                 lr_multiplier: float = 1.0, bias_init: float = 0.0):
        super().__init__(in_features, out_features, bias=bias, bias_init=bias_init, lr_multiplier=lr_multiplier)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None if self.bias is None else self.bias.to(x.dtype) * self.bias_gain
        if self.activation == "linear":
            return F.linear(x, w, b)
        return bias_act(F.linear(x, w), b, self.activation, gain=_LRELU_GAIN)


class Conv2dLayer(nn.Module):
    """Equalized-lr conv with optional FIR up/downsampling (used by D and by resnet skips)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activation: str = "linear", up: int = 1, down: int = 1, resample_filter: Sequence[float] = (1, 3, 3, 1),
                 conv_clamp: Optional[float] = None):
        super().__init__()
        self.activation, self.up, self.down, self.conv_clamp = activation, up, down, conv_clamp
        self.register_buffer("resample_filter", make_filter(resample_filter))
        self.padding = kernel_size // 2
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)
        self.act_gain = _LRELU_GAIN if activation == "lrelu" else 1.0
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        w = (self.weight * self.weight_gain).to(x.dtype)
        # Upsampling layers convolve (flip) as NVIDIA's do; the result differs only for asymmetric kernels.
        x = conv2d_resample(x, w, self.resample_filter, up=self.up, down=self.down, padding=self.padding,
                            flip_weight=(self.up == 1))
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, self.activation, gain=self.act_gain * gain, clamp=clamp)


class MappingNetwork(nn.Module):
    """z (and class weights c) -> w: PixelNorm, then an MLP with lr multiplier; ws broadcast per layer."""

    def __init__(self, z_dim: int, c_dim: int, w_dim: int, num_ws: Optional[int], num_layers: int = 8,
                 lr_multiplier: float = 0.01, w_avg_beta: Optional[float] = 0.995,
                 embed_features: Optional[int] = None, layer_features: Optional[int] = None):
        super().__init__()
        self.z_dim, self.c_dim, self.w_dim, self.num_ws = z_dim, c_dim, w_dim, num_ws
        self.num_layers, self.w_avg_beta = num_layers, w_avg_beta
        if num_layers < 1:
            raise ValueError(f"the mapping network needs at least one layer, got {num_layers}")
        embed_features = (w_dim if embed_features is None else embed_features) if c_dim else 0
        layer_features = w_dim if layer_features is None else layer_features
        features = [z_dim + embed_features] + [layer_features] * (num_layers - 1) + [w_dim]
        if c_dim:
            # A linear map of c, so a blend of one-hot class weights gives the blend of class embeddings.
            self.embed = FullyConnectedLayer(c_dim, embed_features)
        for i in range(num_layers):
            setattr(self, f"fc{i}", FullyConnectedLayer(features[i], features[i + 1], activation="lrelu",
                                                        lr_multiplier=lr_multiplier))
        if num_ws is not None and w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Optional[torch.Tensor], c: Optional[torch.Tensor] = None, truncation_psi: float = 1.0,
                truncation_cutoff: Optional[int] = None) -> torch.Tensor:
        x = None
        if self.z_dim:
            if z is None:
                raise ValueError(f"z must have shape [N, {self.z_dim}], got None")
            check_shape(z, [None, self.z_dim], "z")
            x = normalize_2nd_moment(z.to(torch.float32))
        if self.c_dim:
            if c is None:
                raise ValueError(f"this StyleGAN2 is class-conditional: pass c of shape [N, {self.c_dim}]")
            check_shape(c, [None if x is None else x.shape[0], self.c_dim], "c")
            y = normalize_2nd_moment(self.embed(c.to(torch.float32)))
            x = y if x is None else torch.cat([x, y], dim=1)
        for i in range(self.num_layers):
            x = getattr(self, f"fc{i}")(x)
        if self.num_ws is None:
            return x
        x = x.unsqueeze(1).repeat(1, self.num_ws, 1)
        if truncation_psi != 1:
            # Truncation trick (StyleGAN sec. 3.1 / App. B): pull w towards the mean w, on the first `cutoff` layers.
            cut = self.num_ws if truncation_cutoff is None else int(truncation_cutoff)
            x = torch.cat([self.w_avg.lerp(x[:, :cut], float(truncation_psi)), x[:, cut:]], dim=1)
        return x

    @torch.no_grad()
    def update_w_avg(self, w: torch.Tensor, beta: Optional[float] = None) -> None:
        """Move w_avg towards the batch mean of w ([N, w_dim] or ws [N, L, w_dim]) with decay beta."""
        if w.ndim == 3:
            w = w[:, 0]
        check_shape(w, [None, self.w_dim], "w")
        beta = self.w_avg_beta if beta is None else beta
        self.w_avg.copy_(w.detach().float().mean(dim=0).lerp(self.w_avg, beta))


class SynthesisLayer(nn.Module):
    """Modulated 3x3 conv (+2x upsampling), noise scaled by a learned strength, bias, lrelu."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, kernel_size: int = 3,
                 up: int = 1, use_noise: bool = True, resample_filter: Sequence[float] = (1, 3, 3, 1),
                 conv_clamp: Optional[float] = None):
        super().__init__()
        self.resolution, self.up, self.use_noise, self.conv_clamp = resolution, up, use_noise, conv_clamp
        self.register_buffer("resample_filter", make_filter(resample_filter))
        self.padding = kernel_size // 2
        # Styles start at 1 so that modulation initially leaves the conv untouched.
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        if use_noise:
            self.register_buffer("noise_const", torch.randn(resolution, resolution))
            self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "const",
                noise_input: Optional[torch.Tensor] = None, noise_gain: float = 1.0,
                fused_modconv: bool = True, gain: float = 1.0) -> torch.Tensor:
        r = self.resolution
        check_shape(x, [None, self.weight.shape[1], r // self.up, r // self.up], "x")
        styles = self.affine(w)
        noise = None
        if self.use_noise:
            if noise_input is not None:
                n = noise_input
            elif noise_mode == "random":
                n = torch.randn([x.shape[0], 1, r, r], device=x.device, dtype=x.dtype)
            elif noise_mode == "const":
                n = self.noise_const
            else:
                n = None
            if n is not None:
                noise = n * self.noise_strength
                if noise_gain != 1:
                    noise = noise * noise_gain
        x = modulated_conv2d(x, self.weight, styles, noise=noise, up=self.up, padding=self.padding,
                             resample_filter=self.resample_filter, flip_weight=(self.up == 1),
                             fused_modconv=fused_modconv, exact_norms=self.training,
                             weight_sq_sum=None if fused_modconv else self._weight_sq_sum())
        clamp = self.conv_clamp * gain if self.conv_clamp is not None else None
        return bias_act(x, self.bias, "lrelu", gain=_LRELU_GAIN * gain, clamp=clamp)

    def _weight_sq_sum(self) -> Optional[torch.Tensor]:
        """sum over the kernel of W^2 [O, I] for the dense form's demodulation, kept between inference
        forwards (None while training or recording gradients: then computed in place, as always).

        Summing 512 x 512 x 3 x 3 squares costs ~5 ms a layer on one CPU core: as much as a 4 px
        layer's conv, so half of a small drag preview (issue 17).  The cache is checked against the
        weight's identity and version counter, so a load_state_dict or an optimizer step renews it."""
        if self.training or torch.is_grad_enabled():
            return None
        w = self.weight
        try:
            key = (w.data_ptr(), w._version, w.dtype, w.device)
        except RuntimeError:  # an inference tensor (weights made under inference_mode) keeps no version
            return None
        cached = self.__dict__.get("_sq_sum_cache")
        if cached is None or cached[0] != key:
            cached = (key, w.square().sum(dim=[2, 3]))
            self.__dict__["_sq_sum_cache"] = cached  # not a buffer: never saved, never moved by .to()
        return cached[1]


class ToRGBLayer(nn.Module):
    """Modulated 1x1 conv to colour, without demodulation (the output scale must be learnable)."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, kernel_size: int = 1,
                 conv_clamp: Optional[float] = None):
        super().__init__()
        self.conv_clamp = conv_clamp
        self.affine = FullyConnectedLayer(w_dim, in_channels, bias_init=1)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.weight_gain = 1 / math.sqrt(in_channels * kernel_size ** 2)

    def forward(self, x: torch.Tensor, w: torch.Tensor, fused_modconv: bool = True) -> torch.Tensor:
        styles = self.affine(w) * self.weight_gain
        x = modulated_conv2d(x, self.weight, styles, demodulate=False, fused_modconv=fused_modconv)
        return bias_act(x, self.bias, clamp=self.conv_clamp)


class SynthesisBlock(nn.Module):
    """One resolution: (const | 2x-up conv0), conv1, ToRGB; consumes num_conv + num_torgb styles."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, img_channels: int,
                 is_last: bool, architecture: str = "skip", resample_filter: Sequence[float] = (1, 3, 3, 1),
                 conv_clamp: Optional[float] = None, use_noise: bool = True):
        super().__init__()
        self.in_channels, self.w_dim, self.resolution = in_channels, w_dim, resolution
        self.img_channels, self.is_last, self.architecture = img_channels, is_last, architecture
        self.register_buffer("resample_filter", make_filter(resample_filter))
        self.num_conv = self.num_torgb = 0
        layer_kw = dict(w_dim=w_dim, resolution=resolution, resample_filter=resample_filter, conv_clamp=conv_clamp,
                        use_noise=use_noise)
        if in_channels == 0:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, up=2, **layer_kw)
            self.num_conv += 1
        self.conv1 = SynthesisLayer(out_channels, out_channels, **layer_kw)
        self.num_conv += 1
        if is_last or architecture == "skip":
            self.torgb = ToRGBLayer(out_channels, img_channels, w_dim=w_dim, conv_clamp=conv_clamp)
            self.num_torgb += 1
        if in_channels and architecture == "resnet":
            self.skip = Conv2dLayer(in_channels, out_channels, kernel_size=1, bias=False, up=2,
                                    resample_filter=resample_filter)

    def conv_layers(self) -> list[SynthesisLayer]:
        return [self.conv0, self.conv1] if self.in_channels else [self.conv1]

    def forward(self, x: Optional[torch.Tensor], img: Optional[torch.Tensor], ws: torch.Tensor,
                noise_mode: str, noise_inputs: list, noise_gain: float, fused_modconv: bool):
        w_iter = iter(ws.unbind(dim=1))
        layer_kw = dict(noise_mode=noise_mode, noise_gain=noise_gain, fused_modconv=fused_modconv)
        if self.in_channels == 0:
            x = self.const.unsqueeze(0).repeat(ws.shape[0], 1, 1, 1)
            x = self.conv1(x, next(w_iter), noise_input=noise_inputs[0], **layer_kw)
        elif self.architecture == "resnet":
            # sqrt(1/2) keeps the variance of the residual sum equal to that of each branch.
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv0(x, next(w_iter), noise_input=noise_inputs[0], **layer_kw)
            x = self.conv1(x, next(w_iter), noise_input=noise_inputs[1], gain=math.sqrt(0.5), **layer_kw)
            x = y + x
        else:
            x = self.conv0(x, next(w_iter), noise_input=noise_inputs[0], **layer_kw)
            x = self.conv1(x, next(w_iter), noise_input=noise_inputs[1], **layer_kw)
        if img is not None:
            img = upsample2d(img, self.resample_filter)
        if self.num_torgb:
            y = self.torgb(x, next(w_iter), fused_modconv=fused_modconv)
            img = y if img is None else img + y
        return x, img


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> image; block b{r} for r = 4, 8, ..., img_resolution."""

    def __init__(self, w_dim: int, img_resolution: int, img_channels: int, channel_base: int = 32768,
                 channel_max: int = 512, architecture: str = "skip", resample_filter: Sequence[float] = (1, 3, 3, 1),
                 conv_clamp: Optional[float] = None, use_noise: bool = True):
        super().__init__()
        self.w_dim, self.img_resolution, self.img_channels = w_dim, img_resolution, img_channels
        self.architecture = architecture
        self.block_resolutions = block_resolutions(img_resolution)
        ch = {r: channels_at(r, channel_base, channel_max) for r in self.block_resolutions}
        self.num_ws = 0
        for r in self.block_resolutions:
            block = SynthesisBlock(ch[r // 2] if r > 4 else 0, ch[r], w_dim=w_dim, resolution=r,
                                   img_channels=img_channels, is_last=(r == img_resolution), architecture=architecture,
                                   resample_filter=resample_filter, conv_clamp=conv_clamp, use_noise=use_noise)
            # The ToRGB of a block shares its style with the first conv of the next block.
            self.num_ws += block.num_conv + (block.num_torgb if r == img_resolution else 0)
            setattr(self, f"b{r}", block)

    def blocks(self) -> list[SynthesisBlock]:
        return [getattr(self, f"b{r}") for r in self.block_resolutions]

    def preview_resolutions(self) -> tuple[int, ...]:
        """Resolutions ``forward(stop_at=r)`` can stop at: every block's, when each adds to a skip image."""
        return tuple(self.block_resolutions) if self.architecture == "skip" else ()

    def noise_layers(self) -> list[SynthesisLayer]:
        """The conv layers that take noise, in synthesis order."""
        return [layer for b in self.blocks() for layer in b.conv_layers() if layer.use_noise]

    def forward(self, ws: torch.Tensor, c: Optional[torch.Tensor] = None, *, noise_mode: str = "const",
                noise_inputs: Optional[list] = None, noise_strength: float = 1.0, clamp: Optional[bool] = None,
                fused_modconv: Optional[bool] = None, stop_at: Optional[int] = None) -> torch.Tensor:
        """Render ws.  ``clamp=None`` clamps to [-1, 1] in eval mode only, so training sees the raw output.

        ``stop_at=r`` (skip architecture): stop after the r x r block and return the image summed so
        far, a preview at a fraction of the cost; the last resolution is the full render.
        ``fused_modconv=None`` picks the faster form for the batch and device (``fused_modconv_for``).
        """
        check_shape(ws, [None, self.num_ws, self.w_dim], "ws")
        if stop_at is not None and stop_at != self.img_resolution and stop_at not in self.preview_resolutions():
            raise ValueError(f"stop_at must be one of {list(self.preview_resolutions()) or [self.img_resolution]}"
                             f" for this {self.architecture} generator, got {stop_at!r}")
        if noise_mode not in ("const", "random", "none"):
            raise ValueError(f"noise_mode must be 'const', 'random' or 'none', got {noise_mode!r}")
        layers = self.noise_layers()
        if noise_inputs is None:
            noise_inputs = [None] * len(layers)
        noise_inputs = list(noise_inputs)
        if len(noise_inputs) != len(layers):
            raise ValueError(f"noise_inputs must have {len(layers)} entries (one per noise layer), "
                             f"got {len(noise_inputs)}")
        n = ws.shape[0]
        for i, (t, layer) in enumerate(zip(noise_inputs, layers)):
            if t is not None:
                r = layer.resolution
                if not isinstance(t, torch.Tensor) or t.ndim != 4 or t.shape[0] not in (1, n) \
                        or tuple(t.shape[1:]) != (1, r, r):
                    got = list(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
                    raise ValueError(f"noise_inputs[{i}] must have shape [1 or {n}, 1, {r}, {r}], got {got}")
                noise_inputs[i] = t.to(device=ws.device, dtype=torch.float32)
        if fused_modconv is None:
            fused_modconv = fused_modconv_for(n, ws.device, self.training)
        ws = ws.to(torch.float32)
        steps = []  # (block, its ws, its noise inputs)
        w_idx = k = 0
        for block in self.blocks():
            if stop_at is not None and block.resolution > stop_at:
                break
            n_noise = block.num_conv if block.conv1.use_noise else 0
            block_noise = noise_inputs[k:k + n_noise] + [None] * (block.num_conv - n_noise)
            steps.append((block, ws.narrow(1, w_idx, block.num_conv + block.num_torgb), block_noise))
            w_idx += block.num_conv
            k += n_noise
        run = dict(noise_mode=noise_mode, noise_gain=float(noise_strength), fused_modconv=fused_modconv)
        split, chunk = _cpu_split(steps, n, ws.device, self.training)
        x, img = _run_blocks(steps[:split], None, None, run)
        if split < len(steps):  # the large resolutions a few images at a time (see _CPU_CHUNK_BYTES)
            img = torch.cat([_run_blocks(_rows(steps[split:], i, chunk, n), None if x is None else x[i:i + chunk],
                                         None if img is None else img[i:i + chunk], run)[1]
                             for i in range(0, n, chunk)])
        if clamp or (clamp is None and not self.training):
            img = img.clamp(-1, 1)
        return img


# A CPU renders a batch's large resolutions a few images at a time: one 256 px, 64-channel
# activation is 17 MB, and at batch 16 every pass over them (bias, lrelu, noise, modulation)
# streams 270 MB from memory instead of the cache (profiled: elementwise ops 1.7-2.9x, convs
# 1.3x per image at batch 8).  Blocks whose batch activation exceeds this run in chunks.
_CPU_CHUNK_BYTES = 8 * 2 ** 20


def _cpu_split(steps: list, n: int, device: torch.device, training: bool) -> tuple[int, int]:
    """(index of the first block to run in chunks, images per chunk); (len(steps), n) = all at once."""
    if training or n == 1 or torch.device(device).type != "cpu":
        return len(steps), n
    for i, (block, _, _) in enumerate(steps):
        if n * block.conv1.weight.shape[0] * block.resolution ** 2 * 4 > _CPU_CHUNK_BYTES:
            per_image = max(b.conv1.weight.shape[0] * b.resolution ** 2 * 4 for b, _, _ in steps[i:])
            return i, max(1, min(n, _CPU_CHUNK_BYTES // per_image))
    return len(steps), n


def _rows(steps: list, start: int, count: int, n: int) -> list:
    """The steps for images start..start+count: their ws rows and per-image noise rows."""
    return [(block, ws[start:start + count], [t if t is None or t.shape[0] != n else t[start:start + count]
                                              for t in noise]) for block, ws, noise in steps]


def _run_blocks(steps: list, x, img, run: dict):
    for block, ws, noise in steps:
        x, img = block(x, img, ws, run["noise_mode"], noise, run["noise_gain"], run["fused_modconv"])
    return x, img


def block_resolutions(img_resolution: int) -> list[int]:
    if img_resolution < 4 or img_resolution & (img_resolution - 1):
        raise ValueError(f"StyleGAN2 resolution must be a power of two >= 4, got {img_resolution}")
    return [2 ** i for i in range(2, int(math.log2(img_resolution)) + 1)]


def channels_at(res: int, channel_base: int, channel_max: int) -> int:
    ch = min(channel_base // res, channel_max)
    if ch < 1:
        raise ValueError(f"channel_base={channel_base} gives no channels at {res} px")
    return ch


def _check_arch(name: str, value: str) -> None:
    if value not in _ARCHITECTURES:
        raise ValueError(f"{name} must be one of {', '.join(_ARCHITECTURES)}; got {value!r}")


class MappedGenerator(Generator):
    """A generator made of a `mapping` and a `synthesis` submodule (StyleGAN2, StyleGAN3).

    The base class defines mapping()/synthesis() methods; these properties let the submodules
    (whose forward has the same signature) stand in for them, keeping NVIDIA's state-dict names."""

    @property
    def mapping(self) -> MappingNetwork:
        return self._modules["mapping"]

    @property
    def synthesis(self) -> nn.Module:
        return self._modules["synthesis"]

    @property
    def w_avg(self) -> torch.Tensor:
        return self.mapping.w_avg

    def update_w_avg(self, w: torch.Tensor, beta: Optional[float] = None) -> None:
        """Training helper: track the running mean of w used by truncation."""
        self.mapping.update_w_avg(w, beta)


class StyleGAN2Generator(MappedGenerator):
    """``.mapping`` (MappingNetwork) and ``.synthesis`` (SynthesisNetwork) are submodules, as in NVIDIA's code."""

    # synthesis(ws, noise_mode='const' | 'none', noise_strength=s) runs the same ops for every ws of one shape
    # (in eval mode): the renderer may trace it (engine.renderer.TRACE_BELOW_MS).
    trace_synthesis = True

    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        _check_arch("architecture", cfg.architecture)
        self.z_dim, self.w_dim, self.c_dim = cfg.z_dim, cfg.w_dim, cfg.c_dim
        self.img_resolution, self.img_channels = cfg.img_resolution, cfg.img_channels
        self.synthesis = SynthesisNetwork(cfg.w_dim, cfg.img_resolution, cfg.img_channels,
                                          channel_base=cfg.channel_base, channel_max=cfg.channel_max,
                                          architecture=cfg.architecture, resample_filter=cfg.resample_filter,
                                          conv_clamp=cfg.conv_clamp, use_noise=cfg.use_noise)
        self.num_ws = self.synthesis.num_ws
        self.mapping = MappingNetwork(cfg.z_dim, cfg.c_dim, cfg.w_dim, num_ws=self.num_ws,
                                      num_layers=cfg.mapping_layers, lr_multiplier=cfg.mapping_lr_multiplier,
                                      w_avg_beta=cfg.w_avg_beta)

    def const_noise(self) -> list[torch.Tensor]:
        """Each noise layer's stored constant noise as [1, 1, r, r] (what noise_mode='const' uses)."""
        return [layer.noise_const[None, None] for layer in self.synthesis.noise_layers()]

    def layer_resolutions(self) -> list[int]:
        """Resolution each ws index drives: index i styles conv layer i; the last one only the final ToRGB."""
        return [min(4 * 2 ** ((i + 1) // 2), self.img_resolution) for i in range(self.num_ws)]

    def capabilities(self) -> Capabilities:
        return Capabilities(truncation="w", classes=self.c_dim > 0, class_space="embedding", style_layers=True,
                            layer_resolutions=tuple(self.layer_resolutions()),
                            noise_layers=tuple(layer.resolution for layer in self.synthesis.noise_layers()),
                            preview_resolutions=self.synthesis.preview_resolutions())

    def style_affines(self) -> list[tuple[int, str, FullyConnectedLayer]]:
        """(ws index, kind, affine) for every styled layer: kind is "conv" or "torgb"."""
        out = []
        w_idx = 0
        for block in self.synthesis.blocks():
            for j, layer in enumerate(block.conv_layers()):
                out.append((w_idx + j, "conv", layer.affine))
            if block.num_torgb:
                out.append((w_idx + block.num_conv, "torgb", block.torgb.affine))
            w_idx += block.num_conv
        return out

    def sefa_weight(self, layers: Optional[Sequence[int]] = None) -> torch.Tensor:
        """Stacked effective style weights [out, w_dim] of the conv layers driven by the ws indices ``layers``.

        As in SeFa (Shen & Zhou 2021) the ToRGB styles are left out, except for an index that drives
        nothing else (the last one), so that every index can be chosen.  None = all conv layers.
        """
        affines = self.style_affines()
        if layers is None:
            chosen = [a for _, kind, a in affines if kind == "conv"]
        else:
            layers = sorted({int(i) for i in layers})
            bad = [i for i in layers if not 0 <= i < self.num_ws]
            if bad or not layers:
                raise ValueError(f"layers must be ws indices in [0, {self.num_ws}), got {bad or 'none'}")
            chosen = []
            for i in layers:
                convs = [a for j, kind, a in affines if j == i and kind == "conv"]
                chosen += convs or [a for j, _, a in affines if j == i]
        return torch.cat([a.weight * a.weight_gain for a in chosen], dim=0).detach()


# -- discriminator ---------------------------------------------------------------------------------

class DiscriminatorBlock(nn.Module):
    """One resolution of D: (fromrgb), conv0, conv1 with 2x down, and a 1x1 residual skip (resnet)."""

    def __init__(self, in_channels: int, tmp_channels: int, out_channels: int, resolution: int, img_channels: int,
                 architecture: str = "resnet", resample_filter: Sequence[float] = (1, 3, 3, 1),
                 conv_clamp: Optional[float] = None):
        super().__init__()
        self.in_channels, self.resolution, self.img_channels = in_channels, resolution, img_channels
        self.architecture = architecture
        self.register_buffer("resample_filter", make_filter(resample_filter))
        if in_channels == 0 or architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, tmp_channels, 1, activation="lrelu", conv_clamp=conv_clamp)
        self.conv0 = Conv2dLayer(tmp_channels, tmp_channels, 3, activation="lrelu", conv_clamp=conv_clamp)
        self.conv1 = Conv2dLayer(tmp_channels, out_channels, 3, activation="lrelu", down=2,
                                 resample_filter=resample_filter, conv_clamp=conv_clamp)
        if architecture == "resnet":
            self.skip = Conv2dLayer(tmp_channels, out_channels, 1, bias=False, down=2, resample_filter=resample_filter)

    def forward(self, x: Optional[torch.Tensor], img: Optional[torch.Tensor]):
        if self.in_channels == 0 or self.architecture == "skip":
            y = self.fromrgb(img)
            x = y if x is None else x + y
            img = downsample2d(img, self.resample_filter) if self.architecture == "skip" else None
        if self.architecture == "resnet":
            y = self.skip(x, gain=math.sqrt(0.5))
            x = self.conv1(self.conv0(x), gain=math.sqrt(0.5))
            x = y + x
        else:
            x = self.conv1(self.conv0(x))
        return x, img


class MinibatchStdLayer(nn.Module):
    """Append the stddev across groups of samples, averaged over features and pixels (ProGAN sec. 3)."""

    def __init__(self, group_size: Optional[int], num_channels: int = 1):
        super().__init__()
        self.group_size, self.num_channels = group_size, num_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = n if self.group_size is None else min(self.group_size, n)
        while n % g:  # batches that do not split evenly use the largest group size that does
            g -= 1
        f = self.num_channels
        y = x.reshape(g, -1, f, c // f, h, w)
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # [n/g, F, c/F, H, W]
        y = y.mean(dim=[2, 3, 4]).reshape(-1, f, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)


class DiscriminatorEpilogue(nn.Module):
    """The 4x4 head: minibatch stddev, conv, fc, output (projected onto the class map when conditional)."""

    def __init__(self, in_channels: int, cmap_dim: int, resolution: int, img_channels: int,
                 architecture: str = "resnet", mbstd_group_size: Optional[int] = 4, mbstd_num_channels: int = 1,
                 conv_clamp: Optional[float] = None):
        super().__init__()
        self.in_channels, self.cmap_dim, self.resolution = in_channels, cmap_dim, resolution
        self.architecture = architecture
        if architecture == "skip":
            self.fromrgb = Conv2dLayer(img_channels, in_channels, 1, activation="lrelu")
        self.mbstd = MinibatchStdLayer(mbstd_group_size, mbstd_num_channels) if mbstd_num_channels > 0 else None
        self.conv = Conv2dLayer(in_channels + mbstd_num_channels, in_channels, 3, activation="lrelu",
                                conv_clamp=conv_clamp)
        self.fc = FullyConnectedLayer(in_channels * resolution ** 2, in_channels, activation="lrelu")
        self.out = FullyConnectedLayer(in_channels, cmap_dim or 1)

    def forward(self, x: torch.Tensor, img: Optional[torch.Tensor], cmap: Optional[torch.Tensor]) -> torch.Tensor:
        if self.architecture == "skip":
            x = x + self.fromrgb(img)
        if self.mbstd is not None:
            x = self.mbstd(x)
        x = self.out(self.fc(self.conv(x).flatten(1)))
        if self.cmap_dim:
            # Projection discriminator (Miyato & Koyama 2018): score = <features, class map>, normalised.
            x = (x * cmap).sum(dim=1, keepdim=True) / math.sqrt(self.cmap_dim)
        return x


class StyleGAN2Discriminator(Discriminator):
    def __init__(self, cfg: StyleGAN2Config):
        super().__init__()
        _check_arch("d_architecture", cfg.d_architecture)
        self.c_dim, self.img_resolution, self.img_channels = cfg.c_dim, cfg.img_resolution, cfg.img_channels
        res = block_resolutions(cfg.img_resolution)
        if cfg.img_resolution < 8:
            raise ValueError(f"StyleGAN2 D needs img_resolution >= 8, got {cfg.img_resolution}")
        self.block_resolutions = res[::-1][:-1]  # img_resolution ... 8; the 4x4 head is the epilogue
        ch = {r: channels_at(r, cfg.channel_base, cfg.channel_max) for r in res}
        cmap_dim = (ch[4] if cfg.cmap_dim is None else cfg.cmap_dim) if cfg.c_dim else 0
        for r in self.block_resolutions:
            setattr(self, f"b{r}", DiscriminatorBlock(ch[r] if r < cfg.img_resolution else 0, ch[r], ch[r // 2], r,
                                                      cfg.img_channels, architecture=cfg.d_architecture,
                                                      resample_filter=cfg.resample_filter, conv_clamp=cfg.conv_clamp))
        if cfg.c_dim:
            self.mapping = MappingNetwork(0, cfg.c_dim, cmap_dim, num_ws=None, num_layers=cfg.d_mapping_layers,
                                          lr_multiplier=cfg.mapping_lr_multiplier, w_avg_beta=None)
        self.b4 = DiscriminatorEpilogue(ch[4], cmap_dim, 4, cfg.img_channels, architecture=cfg.d_architecture,
                                        mbstd_group_size=cfg.mbstd_group_size,
                                        mbstd_num_channels=cfg.mbstd_num_channels, conv_clamp=cfg.conv_clamp)

    def forward(self, img: torch.Tensor, c: Optional[torch.Tensor] = None) -> torch.Tensor:
        r = self.img_resolution
        check_shape(img, [None, self.img_channels, r, r], "img")
        x = None
        for res in self.block_resolutions:
            x, img = getattr(self, f"b{res}")(x, img)
        cmap = None
        if self.c_dim:
            if c is None:
                raise ValueError(f"this StyleGAN2 D is class-conditional: pass c of shape [N, {self.c_dim}]")
            cmap = self.mapping(None, c)
        return self.b4(x, img, cmap).flatten()


_PAPER = ("Karras, Laine, Aittala, Hellsten, Lehtinen, Aila. Analyzing and Improving the Image Quality of "
          "StyleGAN. CVPR 2020.")
register("stylegan2", family="stylegan2", config_cls=StyleGAN2Config, generator=StyleGAN2Generator,
         discriminator=StyleGAN2Discriminator,
         tiny=dict(z_dim=32, w_dim=32, img_resolution=16, mapping_layers=2, channel_base=512, channel_max=32),
         paper=_PAPER,
         description="Style-based generator with weight demodulation, noise inputs, skip outputs; resnet D.")
