"""Gated PixelCNN (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN Decoders") over a
grid of discrete codes: the autoregressive prior of the VQ-VAE (``models.vqvae``).

Two stacks remove the original PixelCNN's blind spot.  The vertical stack sees whole rows above a
cell (its kernel covers the rows up to the current one; its output is shifted one row down before the
horizontal stack reads it), the horizontal stack sees the cells to the left in the current row.  Each
layer is a gated unit ``tanh(W_f * x) * sigmoid(W_g * x)``; the horizontal stack has a residual
connection.  The first layer's horizontal convolution excludes the current cell (mask "A"), the others
include it (mask "B"), so logits at cell i depend on cells < i in raster order only.  Masks are made by
padding and cropping, not by zeroed weights: no weight can leak the future.

This module registers no model: the VQ-VAE holds a prior as a submodule.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def shift_down(x: torch.Tensor) -> torch.Tensor:
    """Row i takes row i - 1 (row 0 zeros): what the vertical stack hands the horizontal one."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def shift_right(x: torch.Tensor) -> torch.Tensor:
    """Column j takes column j - 1 (column 0 zeros): the first layer's mask "A"."""
    return F.pad(x, (1, 0))[:, :, :, :-1]


def _gate(x: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One gated layer of both stacks: (v, h) -> (v', h')."""

    def __init__(self, channels: int, kernel: int, first: bool):
        super().__init__()
        if kernel < 3 or kernel % 2 == 0:
            raise ValueError(f"the PixelCNN kernel must be odd and >= 3, got {kernel}")
        self.first, self.k = first, kernel // 2
        # vertical: rows i-k..i, columns j-k..j+k
        self.v_conv = nn.Conv2d(channels, 2 * channels, (self.k + 1, kernel))
        # horizontal: columns j-k..j of the current row
        self.h_conv = nn.Conv2d(channels, 2 * channels, (1, self.k + 1))
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)

    def forward(self, v: torch.Tensor, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.k
        v_feat = self.v_conv(F.pad(v, (k, k, k, 0)))
        h_in = shift_right(h) if self.first else h  # mask "A": the current cell is not an input
        h_feat = self.h_conv(F.pad(h_in, (k, 0, 0, 0))) + self.v_to_h(shift_down(v_feat))
        h_new = self.h_out(_gate(h_feat))
        return _gate(v_feat), (h_new if self.first else h + h_new)


class GatedPixelCNN(nn.Module):
    """codes [N, H, W] (long) -> logits [N, num_codes, H, W] of each cell given the cells before it."""

    def __init__(self, num_codes: int, channels: int = 64, layers: int = 8, kernel: int = 3, out_hidden: int = 128):
        super().__init__()
        if num_codes < 2 or channels < 1 or layers < 1 or out_hidden < 1:
            raise ValueError(f"PixelCNN needs num_codes >= 2 and channels, layers, out_hidden >= 1, got "
                             f"{num_codes}, {channels}, {layers}, {out_hidden}")
        self.num_codes = num_codes
        self.embed = nn.Embedding(num_codes, channels)
        self.layers = nn.ModuleList(GatedLayer(channels, kernel, first=(i == 0)) for i in range(layers))
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, out_hidden, 1), nn.ReLU(),
                                  nn.Conv2d(out_hidden, num_codes, 1))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        x = self.embed(codes).permute(0, 3, 1, 2)
        v = h = x
        for layer in self.layers:
            v, h = layer(v, h)
        return self.head(h)

    def loss(self, codes: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood per cell, in nats."""
        return F.cross_entropy(self(codes), codes)

    @torch.no_grad()
    def sample(self, codes: torch.Tensor, cells: torch.Tensor, uniforms: torch.Tensor, temperature: float = 1.0,
               report: Optional[Callable[[int, torch.Tensor], None]] = None) -> torch.Tensor:
        """Resample the cells where ``cells`` [H, W] (bool) is set, in raster order, each given every cell
        before it (the kept ones and those already resampled); cells not set keep their codes.

        ``uniforms`` [N, H, W] in (0, 1) pick each code by inverting the cumulative distribution of
        softmax(logits / temperature): the same uniforms give the same codes.  ``report(done, codes)``
        after each cell (it may raise to cancel).  Returns a new [N, H, W] tensor.

        Sampling runs cell by cell (``_CellSampler``): the vertical stack once per row, the horizontal
        stack and the head for one cell at a time, so a 64-cell grid costs ~64 small steps instead of 64
        passes of the whole network.  A single full-grid sample without ``report`` is also remembered:
        when the next one shares a prefix of codes with it (a slider moved one cell's draw within the
        same code), the cells of that prefix are not computed again.  Same codes either way.
        """
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        codes = codes.clone()
        if codes.ndim != 3 or tuple(cells.shape) != tuple(codes.shape[1:]) or uniforms.shape != codes.shape:
            raise ValueError(f"codes [N, H, W], cells [H, W] and uniforms [N, H, W] must agree, got "
                             f"{tuple(codes.shape)}, {tuple(cells.shape)}, {tuple(uniforms.shape)}")
        cells = cells.to(torch.bool).cpu()
        sampler = _CellSampler(self, codes, uniforms, temperature, report)
        if report is None and codes.shape[0] == 1 and bool(cells.all()):
            weights = self._weights_key()
            if weights is not None:
                return self._sample_remembered(sampler, weights)
        sampler.run(cells)
        return sampler.codes

    def _weights_key(self) -> Optional[tuple]:
        """The weights' identity and version counters; None for inference tensors (weights loaded under
        inference_mode, as a renderer's first render does), which keep no version: nothing is remembered."""
        try:
            return tuple((p.data_ptr(), p._version) for p in self.parameters())
        except RuntimeError:
            return None

    def _sample_remembered(self, sampler: "_CellSampler", weights: tuple) -> torch.Tensor:
        """A full-grid sample of one image, reusing the previous one's prefix where it is unchanged."""
        key = (weights, sampler.temperature, tuple(sampler.codes.shape), sampler.codes.device,
               sampler.u.dtype)
        last = getattr(self, "_last_sample", None)
        n = sampler.codes[0].numel()
        start = 0
        if last is not None and last[0] == key:
            _, prev_codes, prev_cdf = last
            new = sampler.invert(prev_cdf, sampler.u[0].flatten())  # each cell's code from its old distribution
            differs = (new != prev_codes).nonzero()
            # Cells up to and including the first change have the old prefix, hence the old distributions.
            start = int(differs[0]) + 1 if len(differs) else n
            sampler.codes[0].view(-1)[:start] = new[:start]
            sampler.cdf[:start] = prev_cdf[:start]
        if start < n:
            cells = torch.zeros(n, dtype=torch.bool)
            cells[start:] = True
            sampler.run(cells.view(sampler.codes.shape[1:]))
        self._last_sample = (key, sampler.codes[0].flatten().clone(), sampler.cdf)
        return sampler.codes


class _CellSampler:
    """One sampling run of a GatedPixelCNN, computed one cell at a time.

    For row i, the horizontal stack reads the vertical stack's output of row i - 1 (through ``v_to_h``),
    which depends on rows < i only: it is computed once per row.  Then each cell's horizontal features
    are a small matrix product over the k + 1 cells to its left (the convolution's window) in every
    layer, and the head gives that cell's logits.  Same arithmetic as ``GatedPixelCNN.forward``, as
    matrix products instead of convolutions.
    """

    def __init__(self, net: GatedPixelCNN, codes: torch.Tensor, uniforms: torch.Tensor, temperature: float,
                 report: Optional[Callable[[int, torch.Tensor], None]]):
        self.net, self.codes, self.temperature, self.report = net, codes, float(temperature), report
        self.u = uniforms
        self.N, self.H, self.W = codes.shape
        self.k = net.layers[0].k
        # Each cell's distribution (of the first image), kept for the next sample's shared prefix
        self.cdf = torch.zeros(self.H * self.W, net.num_codes, device=codes.device)
        self.done = 0

    def invert(self, cdf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Codes picked by uniforms ``u`` [M] from cumulative distributions ``cdf`` [M, K]."""
        scaled = u.to(cdf.dtype).unsqueeze(1) * cdf[:, -1:]
        # the number of entries below u * total (cdf does not decrease): one search instead of compare-and-count
        return torch.searchsorted(cdf, scaled).squeeze(1).clamp_(max=self.net.num_codes - 1)

    def _row_terms(self, i: int) -> list[torch.Tensor]:
        """Per layer, v_to_h of the vertical stack at row i - 1: [N, W, 2C] (bias only on row 0)."""
        net, k = self.net, self.k
        if i == 0:
            return [layer.v_to_h.bias.view(1, 1, -1).expand(self.N, self.W, -1) for layer in net.layers]
        v = net.embed(self.codes[:, :i]).permute(0, 3, 1, 2)
        terms = []
        for layer in net.layers:
            v_feat = layer.v_conv(F.pad(v, (k, k, k, 0)))
            terms.append(layer.v_to_h(v_feat[:, :, i - 1:i]).squeeze(2).transpose(1, 2))
            v = _gate(v_feat)
        return terms

    # NumPy for float32 weights on the CPU (``_run_numpy``); tests turn it off to check the torch path
    use_numpy = True

    def run(self, cells: torch.Tensor) -> None:
        """Sample the cells set in ``cells`` [H, W] (bool), in raster order."""
        if self.use_numpy and self.codes.device.type == "cpu" and all(p.dtype == torch.float32 for p in self.net.parameters()):
            self._run_numpy(cells)
        else:
            self._run_torch(cells)

    def _run_torch(self, cells: torch.Tensor) -> None:
        net, k, N, W = self.net, self.k, self.N, self.W
        pad = k + 1  # zero columns left of each row buffer: the first layer's window reaches j - k - 1
        # h_conv's weight [2C, C, 1, k+1] as a [(k+1) C, 2C] matrix in the row buffers' (column, channel) order
        weights = [(layer.h_conv.weight[:, :, 0].permute(2, 1, 0).reshape(-1, layer.h_conv.out_channels),
                    layer.h_conv.bias, layer.h_out.weight.flatten(1).t(), layer.h_out.bias) for layer in net.layers]
        head_w = [(m.bias, m.weight.flatten(1).t()) for m in net.head if isinstance(m, nn.Conv2d)]
        C = net.embed.embedding_dim
        chosen = cells.tolist()
        for i in range(self.H):
            if not any(chosen[i]):
                continue
            last = max(j for j in range(W) if chosen[i][j])
            terms = self._row_terms(i)
            # bufs[0]: the codes' embeddings of row i; bufs[l]: layer l's horizontal output (cells < j so far)
            bufs = [net.embed.weight.new_zeros(N, pad + W, C) for _ in range(len(net.layers) + 1)]
            for j in range(last + 1):
                for l, (wh, bh, wo, bo) in enumerate(weights):
                    first = l == 0
                    window = bufs[0][:, j:j + k + 1] if first else bufs[l][:, j + 1:j + k + 2]
                    feat = torch.addmm(bh, window.reshape(N, -1), wh).add_(terms[l][:, j])
                    h_new = torch.addmm(bo, torch.tanh(feat[:, :C]).mul_(torch.sigmoid(feat[:, C:])), wo)
                    bufs[l + 1][:, pad + j] = h_new if first else bufs[l][:, pad + j] + h_new
                if chosen[i][j]:
                    h = torch.relu(bufs[-1][:, pad + j])
                    h = torch.addmm(head_w[0][0], h, head_w[0][1]).relu_()
                    logits = torch.addmm(head_w[1][0], h, head_w[1][1]).float()
                    cdf = torch.softmax(_scaled(logits, self.temperature), dim=1).cumsum(dim=1)
                    self.codes[:, i, j] = self.invert(cdf, self.u[:, i, j])
                    self.cdf[i * W + j] = cdf[0]
                    self.done += 1
                    if self.report is not None:
                        self.report(self.done, self.codes)
                bufs[0][:, pad + j] = net.embed(self.codes[:, i, j])

    def _run_numpy(self, cells: torch.Tensor) -> None:
        """``_run_torch``'s arithmetic in NumPy, for float32 weights on the CPU: a cell's step is ~40 small
        operations on vectors of 32-128 numbers, where each torch call costs several microseconds of
        dispatch and NumPy's one or two.  The vertical stack also advances by one row at a time (each
        layer's convolution computed for the new row only) instead of over every row above.  Same
        arithmetic in float32; the distributions agree with the forward pass within 1e-5."""
        w = _numpy_weights(self.net)
        k, N, H, W, C = self.k, self.N, self.H, self.W, w.C
        pad = k + 1
        codes = self.codes.numpy()  # shares memory: what ``report`` and the caller see
        u = self.u.detach().to("cpu", torch.float32).numpy()
        cdf_out = np.zeros((H * W, w.K), np.float32)
        chosen = cells.numpy()
        rows = [i for i in range(H) if chosen[i].any()]
        if not rows:
            return
        # the vertical stack's padded inputs per layer: rows k above, columns k either side
        vin = [np.zeros((N, H + k, W + 2 * k, C), np.float32) for _ in range(len(w.layers))]
        # row i's v_to_h term of each layer, plus h_conv's bias (row 0: the biases only)
        terms = [np.broadcast_to(lw.vh_b + lw.h_b, (N, W, 2 * C)) for lw in w.layers]
        for i in range(rows[-1] + 1):
            if chosen[i].any():
                last = int(np.flatnonzero(chosen[i])[-1])
                bufs = [np.zeros((N, pad + W, C), np.float32) for _ in range(len(w.layers) + 1)]
                for j in range(last + 1):
                    for l, lw in enumerate(w.layers):
                        window = bufs[0][:, j:j + k + 1] if l == 0 else bufs[l][:, j + 1:j + k + 2]
                        feat = window.reshape(N, -1) @ lw.h_w + terms[l][:, j]
                        h_new = (np.tanh(feat[:, :C]) * _sigmoid(feat[:, C:])) @ lw.o_w + lw.o_b
                        bufs[l + 1][:, pad + j] = h_new if l == 0 else bufs[l][:, pad + j] + h_new
                    if chosen[i, j]:
                        h = np.maximum(bufs[-1][:, pad + j], 0.0)
                        h = np.maximum(h @ w.head1_w + w.head1_b, 0.0)
                        logits = h @ w.head2_w + w.head2_b
                        cdf = _numpy_cdf(logits, self.temperature)
                        scaled = u[:, i, j] * cdf[:, -1]
                        for b in range(N):
                            codes[b, i, j] = min(int(np.searchsorted(cdf[b], scaled[b])), w.K - 1)
                        cdf_out[i * W + j] = cdf[0]
                        self.done += 1
                        if self.report is not None:
                            self.report(self.done, self.codes)
                    bufs[0][:, pad + j] = w.embed[codes[:, i, j]]
            if i == rows[-1]:
                break
            # row i is final: push it through the vertical stack, giving row i + 1's terms
            x = w.embed[codes[:, i]]  # [N, W, C]
            for l, lw in enumerate(w.layers):
                vin[l][:, i + k, k:k + W] = x
                window = np.lib.stride_tricks.sliding_window_view(vin[l][:, i:i + k + 1], 2 * k + 1, axis=2)
                # [N, k+1, W, C, 2k+1] -> [N, W, (k+1) C (2k+1)], v_conv's weight in the same order
                patches = window.transpose(0, 2, 1, 3, 4).reshape(N, W, -1)
                v_feat = patches @ lw.v_w + lw.v_b
                terms[l] = v_feat @ lw.vh_w + (lw.vh_b + lw.h_b)
                x = np.tanh(v_feat[..., :C]) * _sigmoid(v_feat[..., C:])
        done = torch.from_numpy(cdf_out)
        keep = torch.from_numpy(chosen.reshape(-1).copy())
        self.cdf[keep] = done[keep].to(self.cdf.device)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _numpy_cdf(logits: np.ndarray, temperature: float) -> np.ndarray:
    """The cumulative softmax(logits / temperature) per row, in float32 (``_scaled``'s care for tiny
    temperatures included)."""
    scaled = _scaled(torch.from_numpy(logits), temperature).numpy() if temperature < _SMALL_TEMPERATURE \
        else logits / np.float32(temperature)
    e = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return np.cumsum(e / e.sum(axis=1, keepdims=True), axis=1, dtype=np.float32)


class _NumpyWeights:
    """A GatedPixelCNN's weights as float32 NumPy matrices in the order ``_run_numpy`` multiplies them."""

    class Layer:
        def __init__(self, layer: GatedLayer):
            a = _as_numpy
            self.h_w = a(layer.h_conv.weight[:, :, 0].permute(2, 1, 0).reshape(-1, layer.h_conv.out_channels))
            self.h_b = a(layer.h_conv.bias)
            self.o_w, self.o_b = a(layer.h_out.weight.flatten(1).t()), a(layer.h_out.bias)
            # v_conv [2C, C, k+1, 2k+1] -> [(k+1) C (2k+1), 2C]: rows, channels, columns, as the patches
            self.v_w = a(layer.v_conv.weight.permute(2, 1, 3, 0).reshape(-1, layer.v_conv.out_channels))
            self.v_b = a(layer.v_conv.bias)
            self.vh_w, self.vh_b = a(layer.v_to_h.weight.flatten(1).t()), a(layer.v_to_h.bias)

    def __init__(self, net: GatedPixelCNN):
        self.C, self.K = net.embed.embedding_dim, net.num_codes
        self.embed = _as_numpy(net.embed.weight)
        self.layers = [self.Layer(layer) for layer in net.layers]
        (b1, w1), (b2, w2) = [(m.bias, m.weight) for m in net.head if isinstance(m, nn.Conv2d)]
        self.head1_w, self.head1_b = _as_numpy(w1.flatten(1).t()), _as_numpy(b1)
        self.head2_w, self.head2_b = _as_numpy(w2.flatten(1).t()), _as_numpy(b2)


def _as_numpy(t: torch.Tensor) -> np.ndarray:
    """A float32 NumPy copy of a weight (contiguous, detached from autograd and from the module)."""
    return t.detach().to("cpu", torch.float32).numpy().copy()


def _numpy_weights(net: GatedPixelCNN) -> _NumpyWeights:
    """The net's weights for ``_run_numpy``, converted once per weights version (every time for inference
    tensors, which keep no version: ~0.1 ms)."""
    key = net._weights_key()
    cached = getattr(net, "_numpy_cache", None)
    if key is not None and cached is not None and cached[0] == key:
        return cached[1]
    weights = _NumpyWeights(net)
    if key is not None:
        net._numpy_cache = (key, weights)
    return weights


def _scaled(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """logits / temperature.  Where a tiny temperature overflows that (or is 0 as a float32: inf - inf is NaN
    in the softmax, and every cell drew code 0), the logits less their row's maximum, in float64, which
    softmax ignores: the most likely code(s) keep 0, the others go towards -inf, the limit as the temperature
    goes to 0."""
    if temperature >= _SMALL_TEMPERATURE:  # finite logits cannot overflow: no check (a sync) per cell
        return logits / temperature
    out = logits / temperature
    if not bool(torch.isfinite(out).all()):
        d = logits.double()
        out = ((d - d.amax(dim=1, keepdim=True)) / temperature).to(logits.dtype)
    return out


# Below this temperature logits / temperature is checked for overflow (float32 logits of 3e35 would overflow).
_SMALL_TEMPERATURE = 1e-3
