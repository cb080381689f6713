"""PyTorch DCGAN example / tutorial generators (``main.N`` ConvTranspose2d + BatchNorm2d stacks).

The example's generator is ``main = Sequential(ConvT, BN, ReLU, ..., ConvT, Tanh)``: transposed
convs at indices 0, 3, 6, ..., BatchNorm right after each hidden one, the output conv last.
Our "dcgan" generator keeps exactly that layout, so the keys map one to one; nz, ngf, nc and the
resolution (4 * 2**hidden layers) are read from the weight shapes.  Accepted: the bare state dict,
or any dict holding it (``{"netG": sd, "netD": ...}``, a full training checkpoint...).
"""
from __future__ import annotations

import re
from typing import Any, Optional

import torch

from ganstudio.checkpoints import CheckpointError
from ganstudio.checkpoints.importers._common import create_checked, find_state_dict, load_exact

NAME = "pytorch-dcgan"
DESCRIPTION = "PyTorch DCGAN example generator (main.N ConvTranspose2d/BatchNorm2d state dict)"
PRIORITY = 40

_PREFERRED = ("netG", "generator", "G", "gen", "state_dict", "model", "model_state_dict")
_KEY = re.compile(r"^main\.(\d+)\.(weight|bias|running_mean|running_var|num_batches_tracked)$")


def _layout(sd: dict[str, torch.Tensor]) -> Optional[dict]:
    """The architecture a ``main.N`` generator state dict describes, or None if it is not one."""
    if not sd or not all(_KEY.match(k) for k in sd):
        return None
    idx = sorted({int(_KEY.match(k).group(1)) for k in sd})
    convs = [i for i in idx if i % 3 == 0]
    bns = [i for i in idx if i % 3 == 1]
    if idx != sorted(convs + bns) or not convs or convs != list(range(0, 3 * len(convs), 3)):
        return None
    n_hidden = len(convs) - 1
    if bns != [3 * i + 1 for i in range(n_hidden)] or n_hidden < 1:
        return None
    weights = [sd.get(f"main.{i}.weight") for i in convs]
    if any(w is None or w.ndim != 4 or tuple(w.shape[2:]) != (4, 4) for w in weights):
        return None
    if any(f"main.{i}.bias" in sd for i in convs):
        return None  # the example's convs have no bias
    for a, b in zip(weights, weights[1:]):  # ConvTranspose2d weights are [in, out, k, k]
        if a.shape[1] != b.shape[0]:
            return None
    for j, i in enumerate(bns):
        if sd.get(f"main.{i}.running_mean") is None or sd[f"main.{i}.running_mean"].shape[0] != weights[j].shape[1]:
            return None
    nz, ngf, nc = weights[0].shape[0], weights[-1].shape[0], weights[-1].shape[1]
    widths = [w.shape[1] for w in weights[:-1]]
    if widths != [ngf * 2 ** (n_hidden - 1 - i) for i in range(n_hidden)]:
        return {"error": f"hidden widths {widths} do not halve layer by layer down to ngf={ngf}"}
    return dict(z_dim=int(nz), ngf=int(ngf), img_channels=int(nc), img_resolution=4 * 2 ** n_hidden)


def _find(obj: Any):
    return find_state_dict(obj, lambda sd: _layout(sd) is not None, _PREFERRED)


def sniff(path, obj) -> bool:
    return _find(obj) is not None


def convert(path, obj):
    found = _find(obj)
    if found is None:
        raise CheckpointError(f"{path}: no DCGAN generator state dict found")
    where, sd = found
    arch = _layout(sd)
    if "error" in arch:
        raise CheckpointError(f"{path}: a DCGAN-like generator at {where!r}, but {arch['error']}; "
                              "GAN Studio's dcgan doubles the width per layer towards the input")
    G = create_checked("dcgan", path, f"{path}: the inferred DCGAN is invalid", **arch, ndf=arch["ngf"])
    load_exact(G, sd, path, "DCGAN generator")
    details = {**arch, "found_at": where}
    return G, {"class_names": [], "details": details,
               "summary": f"PyTorch DCGAN generator at {where!r}: nz={arch['z_dim']}, ngf={arch['ngf']}, "
                          f"nc={arch['img_channels']}, {arch['img_resolution']}x{arch['img_resolution']} px"}
