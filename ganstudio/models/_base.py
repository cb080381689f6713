"""The one generator interface every family implements.

A generator maps ``z`` (and class weights ``c``) to intermediate latents ``ws`` with
``mapping`` and renders them with ``synthesis``.  Families without a mapping network use
the identity (``ws = z[:, None]``, ``num_ws = 1``), so the renderer and the latent panels
treat every family the same way and enable features from ``capabilities()`` alone.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn


@dataclass(frozen=True)
class Capabilities:
    """What a generator supports; GUI panels enable themselves from these flags."""

    truncation: Optional[str] = None  # "w": psi toward w_avg (StyleGAN); "z": truncated normal (BigGAN)
    # How "z" truncation draws z: "resample" entries beyond the threshold (the BigGAN paper), or
    # "scaled": a normal truncated to [-2, 2] times t, t also choosing BatchNorm statistics (BigGAN-deep's release).
    z_truncation: str = "resample"
    classes: bool = False  # takes class weights c of shape [N, c_dim]
    class_space: str = "onehot"  # "embedding": c is multiplied into a learned embedding; "onehot": concatenated
    style_layers: bool = False  # every one of num_ws entries of ws drives its own layer(s)
    layer_resolutions: tuple[int, ...] = ()  # resolution each ws entry drives (for labels)
    noise_layers: tuple[int, ...] = ()  # resolution of each per-layer noise input, in synthesis order
    encoder: bool = False  # has encode(img) -> (mu, logvar)  (VAE; the AAE's is deterministic: logvar -inf)
    attention: bool = False  # keeps attention maps in .attention_maps after a forward
    progressive: bool = False  # has stages: set_stage(stage, alpha)
    latent_codes: int = 0  # InfoGAN-style structured codes at the end of z
    # synthesis(..., input_transform=[3, 3]) translates / rotates the content (StyleGAN3's Fourier input)
    input_transform: bool = False
    # Resolutions at which synthesis(..., stop_at=r) returns an r x r image early, a cheap preview
    # (StyleGAN2's skip generator sums an image at every resolution); () = full renders only.
    preview_resolutions: tuple[int, ...] = ()
    # VQ-VAE: (rows, cols) of the code grid; ws[:, 0] holds its codebook indices in raster order, and
    # the generator has encode_codes / decode_codes / sample_codes (models.vqvae).  () = no code grid.
    code_grid: tuple[int, ...] = ()
    codebook_size: int = 0  # entries of that codebook

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class Generator(nn.Module):
    """Base class: subclasses set the attributes below and implement ``synthesis``."""

    z_dim: int
    w_dim: int
    num_ws: int
    c_dim: int
    img_resolution: int
    img_channels: int
    # Renders on a CPU run in channels-last memory format (the renderer's inference copy): set by
    # families of plain convolutions, where oneDNN's kernels make batch-1 renders 20-40 % faster.
    cpu_channels_last: bool = False
    # The module (or the Sequential whose first weighted layer) that z enters first, z in its first
    # z_dim input columns (class inputs, where a family concatenates them, come after): SeFa's A,
    # and the layer whose output GANSpace's PCA runs on for families without a mapping network.
    latent_layer: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.config: Any = None  # the family's config dataclass, set by the registry
        self.model_name: str = ""  # registry name, set by the registry

    def capabilities(self) -> Capabilities:
        return Capabilities()

    def sefa_weight(self, layers=None) -> torch.Tensor:
        """SeFa's A (Shen & Zhou 2021): the first layer's weight as a linear map [out, z_dim] of z alone."""
        if layers is not None:
            raise ValueError(f"{type(self).__name__} has no per-layer style weights; SeFa layers must be None")
        m = self.latent_module()
        w = m.weight * getattr(m, "weight_gain", 1.0)  # equalized lr: the weight the forward uses
        if isinstance(m, nn.ConvTranspose2d):  # on z as a 1x1 map: in -> out x kH x kW, linear
            w = w.reshape(w.shape[0], -1).T
        if w.ndim != 2 or w.shape[1] < self.z_dim:
            raise ValueError(f"{self.latent_layer} of {type(self).__name__} does not read the {self.z_dim}-dim z")
        return w[:, :self.z_dim]

    def latent_module(self) -> nn.Module:
        """The weighted layer ``latent_layer`` names: the first one z enters."""
        if not self.latent_layer:
            raise ValueError(f"{type(self).__name__} names no layer that reads z")
        return next(m for m in self.get_submodule(self.latent_layer).modules()
                    if isinstance(getattr(m, "weight", None), torch.Tensor))

    # -- interface -------------------------------------------------------------------------
    def mapping(self, z: torch.Tensor, c: Optional[torch.Tensor] = None,
                truncation_psi: float = 1.0, truncation_cutoff: Optional[int] = None) -> torch.Tensor:
        """z [N, z_dim] -> ws [N, num_ws, w_dim].  Identity for families without a mapping network."""
        check_shape(z, [None, self.z_dim], "z")
        return z.unsqueeze(1)

    def synthesis(self, ws: torch.Tensor, c: Optional[torch.Tensor] = None, *,
                  noise_mode: str = "const", noise_inputs: Optional[list] = None,
                  noise_strength: float = 1.0) -> torch.Tensor:
        """ws [N, num_ws, w_dim] -> image [N, C, H, W] in [-1, 1]."""
        raise NotImplementedError

    def forward(self, z: torch.Tensor, c: Optional[torch.Tensor] = None,
                truncation_psi: float = 1.0, truncation_cutoff: Optional[int] = None,
                **synthesis_kwargs) -> torch.Tensor:
        ws = self.mapping(z, c, truncation_psi=truncation_psi, truncation_cutoff=truncation_cutoff)
        return self.synthesis(ws, c, **synthesis_kwargs)

    # -- helpers shared by families ---------------------------------------------------------
    def check_c(self, c: Optional[torch.Tensor], n: int) -> Optional[torch.Tensor]:
        """Validate class weights; unconditional models accept None only."""
        if self.c_dim == 0:
            return None
        if c is None:
            raise ValueError(f"{type(self).__name__} is class-conditional: pass c of shape [N, {self.c_dim}]")
        check_shape(c, [n, self.c_dim], "c")
        return c


class Discriminator(nn.Module):
    """Base class: ``forward(img, c) -> scores [N]`` (logits or critic values).

    Families with auxiliary heads (ACGAN's classifier, InfoGAN's Q network) override
    ``forward_aux`` to also return them, keyed "class_logits" / "code".
    """

    c_dim: int = 0
    img_resolution: int
    img_channels: int
    # Renders on a CPU run in channels-last memory format (the renderer's inference copy): set by
    # families of plain convolutions, where oneDNN's kernels make batch-1 renders 20-40 % faster.
    cpu_channels_last: bool = False
    # What forward scores: "image" [N, C, H, W], or "code": the generator's codes [N, z_dim]
    # (the adversarial autoencoder's discriminator on the latent space).
    reads: str = "image"

    def __init__(self) -> None:
        super().__init__()
        self.config: Any = None
        self.model_name: str = ""

    def forward_aux(self, img: torch.Tensor, c: Optional[torch.Tensor] = None):
        return self(img, c), {}

    def aux_heads(self) -> tuple[str, ...]:
        """The keys ``forward_aux`` returns: what the auxiliary losses (aux_class, info) can train."""
        return ()


def check_shape(t: torch.Tensor, shape: list, name: str) -> None:
    """Raise ValueError unless t matches shape (None = any size)."""
    if t.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, t.shape)):
        want = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
        raise ValueError(f"{name} must have shape {want}, got {list(t.shape)}")


def one_hot(labels: torch.Tensor, c_dim: int) -> torch.Tensor:
    """Integer labels [N] -> float one-hot [N, c_dim] (the pure-class form of c)."""
    return torch.nn.functional.one_hot(labels.long(), c_dim).float()
