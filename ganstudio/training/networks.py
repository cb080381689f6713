"""The networks a run trains: G and D from a TrainConfig, checked to run before anything is written,
and their optimizers."""
from __future__ import annotations

import dataclasses
import warnings

import torch

from ganstudio.training.presets import DEFAULT_W_AVG_BETA, ModelTraits, TrainConfig, applies



def build_models(cfg: TrainConfig, num_classes: int):
    """G and D (None for VAE-style models) from the config, with the data set's class count."""
    from ganstudio.models import create_discriminator, create_generator, get_spec

    try:
        spec = get_spec(cfg.model)
    except KeyError as e:
        raise ValueError(e.args[0]) from None
    fields = {f.name for f in dataclasses.fields(spec.config_cls)}
    over = dict(cfg.model_config)
    for k in ("img_resolution", "img_channels"):
        if k in over:
            raise ValueError(f"set the training 'resolution'/'channels', not model.{k}")
    over["img_resolution"], over["img_channels"] = cfg.resolution, cfg.channels
    if "c_dim" in fields:
        if cfg.conditional == "yes" and num_classes < 1:
            hint = ("try --set conditional=no" if _can_be_unconditional(cfg.model, over) else
                    f"{cfg.model} is class-conditional by design; label an image folder by subfolder with "
                    "--set class_folders=true")
            raise ValueError(f"{cfg.model} is trained class-conditionally and needs a labelled data set; "
                             f"{cfg.data} has no labels ({hint})")
        if cfg.conditional == "no" and over.get("c_dim", 0):
            raise ValueError(f"conditional=no contradicts model.c_dim={over['c_dim']}")
        # "no" trains without classes: left at the model's default c_dim, every image was fed as class 0.
        over["c_dim"] = num_classes if cfg.conditional in ("yes", "auto") else 0
    elif cfg.conditional == "yes":
        raise ValueError(f"model {cfg.model} is not class-conditional (set conditional=no)")
    # w_avg_beta is the training-level name of the model's w_avg decay: either one, set, reaches the model.
    if "w_avg_beta" in fields:
        if cfg.w_avg_beta != DEFAULT_W_AVG_BETA:
            if over.setdefault("w_avg_beta", cfg.w_avg_beta) != cfg.w_avg_beta:
                raise ValueError(f"w_avg_beta={cfg.w_avg_beta} contradicts model.w_avg_beta={over['w_avg_beta']}")
    elif cfg.w_avg_beta != DEFAULT_W_AVG_BETA:
        raise ValueError(f"w_avg_beta is StyleGAN's running mean of w; {cfg.model} has none")
    try:
        with warnings.catch_warnings():  # torch's "zero-element tensors" note: check_models_run names the cause
            warnings.filterwarnings("ignore", message="Initializing zero-element tensors")
            G = create_generator(cfg.model, **over)
            D = create_discriminator(cfg.model, **over)
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError) as e:
        if over.get("c_dim", None) == 0 and not _can_be_unconditional(cfg.model, over):
            raise ValueError(f"{cfg.model} is class-conditional by design and cannot train without classes; "
                             f"{cfg.data} has none: use a labelled data set (an image folder with "
                             "--set class_folders=true) or an unconditional model such as dcgan") from None
        # A bad model.FIELD override surfaces here; keep it to one line naming the model.
        raise ValueError(f"model {cfg.model}: invalid config {over}: {str(e).splitlines()[0]}") from None
    return G, D


def check_models_run(cfg: TrainConfig, G, D, device: torch.device) -> None:
    """ValueError naming the model settings when G and D build but cannot run (``model.ngf=0`` gives
    layers without channels, which died in oneDNN at the first step, after the run folder was made).

    One forward of two images in eval mode, without gradients and with the RNG state restored: the
    weights, buffers and random streams of the run are left exactly as they were."""
    over = ", ".join(f"model.{k}={v}" for k, v in cfg.model_config.items()) or "the preset's model settings"
    for name, net in (("generator", G), ("discriminator", D)):
        for pname, p in (net.named_parameters() if net is not None else ()):
            if p.numel() == 0:
                raise ValueError(f"model {cfg.model}: with {over} the {name}'s {pname} is empty "
                                 f"(shape {list(p.shape)}); give every width and size a value >= 1")
    nets = [m for m in (G, D) if m is not None]
    modes = [m.training for m in nets]
    try:
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for m in nets:
                m.eval()
            z = torch.zeros(2, G.z_dim, device=device)
            c = torch.zeros(2, G.c_dim, device=device) if G.c_dim else None
            img = G(z, c)
            if D is not None and getattr(D, "reads", "image") == "code":  # the adversarial autoencoder's D scores codes
                D(G.encode(img)[0])
            elif D is not None:
                D(img, c if getattr(D, "c_dim", 0) else None)
    except (RuntimeError, ValueError, TypeError, IndexError, ZeroDivisionError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ValueError(f"model {cfg.model}: with {over} the networks cannot run ({first[:200]})") from None
    finally:
        for m, mode in zip(nets, modes):
            m.train(mode)


def _can_be_unconditional(name: str, over: dict) -> bool:
    """Whether the family builds with c_dim=0 (cgan, acgan, SN-GAN and BigGAN need classes)."""
    from ganstudio.models import create_generator
    try:
        with torch.device("meta"):
            create_generator(name, **{**over, "c_dim": 0})
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError, OverflowError):
        return False
    return True


def init_generator_from(G: torch.nn.Module, path: str) -> None:
    """Fine-tuning (``init_g``): G starts from the generator weights (``G.*``) of a GAN Studio file, a shipped
    model or a checkpoint, whose tensors match G's by name and shape.  Only safetensors are read (no code
    runs); a mismatch raises ValueError naming the first tensor that differs."""
    from ganstudio._io import read_safetensors

    _meta, tensors = read_safetensors(path)
    weights = {k[2:]: v for k, v in tensors.items() if k.startswith("G.")}
    if not weights:
        raise ValueError(f"init_g {path}: the file holds no generator weights (G.*)")
    own = G.state_dict()
    missing, extra = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
    if missing or extra:
        what = f"this model's {missing[0]} is not in it" if missing else f"its {extra[0]} is not in this model"
        raise ValueError(f"init_g {path}: the file's generator is not this model's architecture ({what})")
    for k, v in own.items():
        if tuple(weights[k].shape) != tuple(v.shape):
            raise ValueError(f"init_g {path}: {k} has shape {tuple(weights[k].shape)} in the file, "
                             f"{tuple(v.shape)} in this model")
    G.load_state_dict(weights)


def make_optimizer(params, kind: str, lr: float, betas, lazy_every: int = 1) -> torch.optim.Optimizer:
    """``lazy_every`` > 1: the net gets a lazy regularizer every N steps as a pass of its own (N + 1
    Adam steps per N batches), so Adam runs at lr * c and betas ** c, c = N / (N + 1) (Karras et al.
    2020, B): the same total step size per N batches as without lazy regularization."""
    params = list(params)
    if kind == "adam":
        c = lazy_every / (lazy_every + 1) if lazy_every > 1 else 1.0
        return torch.optim.Adam(params, lr=lr * c, betas=tuple(b ** c for b in betas))
    if kind == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    return torch.optim.SGD(params, lr=lr, momentum=betas[0])


# Settings refused (not ignored) on a model they do not apply to (presets.REQUIRES decides), and why.
REFUSED = {
    # aux_class died in the first D step (KeyError); info was silently ignored
    "aux_class": "aux_class is ACGAN's auxiliary class loss; the {model} discriminator has no class head "
                 "(train the acgan model)",
    "info": "info is InfoGAN's mutual-information loss; {model} has no latent codes (the infogan preset, or "
            "model.info_cat / model.info_cont on dcgan)",
    "pl": "pl (path length regularization) needs a style-based generator; {model} has none",
    "pt": "pt is EBGAN's pulling-away term on an autoencoder discriminator's embeddings; {model} has none "
          "(the ebgan model)",
}
# Settings of a discriminator on images, refused on the adversarial autoencoder's D (it scores codes).
_IMAGE_D_SETTINGS = ("gp", "r1", "dragan", "drift", "clip", "instance_noise")


def check_applicable(cfg: TrainConfig, caps, heads, has_D: bool = True) -> None:
    """Settings the model cannot honour are refused, not ignored."""
    traits = ModelTraits(caps, tuple(heads), has_D, True)
    for name, why in REFUSED.items():
        if getattr(cfg, name) > 0 and not applies(name, traits):
            raise ValueError(why.format(model=cfg.model))
    _check_energy_and_code_discriminators(cfg, caps, heads, has_D)


def _check_energy_and_code_discriminators(cfg: TrainConfig, caps, heads, has_D: bool) -> None:
    from ganstudio.training.losses import ENERGY_LOSSES
    if cfg.loss in ENERGY_LOSSES and has_D and "embedding" not in heads:
        raise ValueError(f"loss {cfg.loss} reads an autoencoder discriminator's reconstruction energies; {cfg.model} "
                         "has none (train the ebgan or began model)")
    if "embedding" in heads and cfg.loss not in ENERGY_LOSSES:
        raise ValueError(f"{cfg.model}'s discriminator scores reconstruction energies: train it with loss=ebgan or "
                         f"loss=began, not {cfg.loss}")
    if has_D and caps.encoder:
        bad = [n for n in _IMAGE_D_SETTINGS if getattr(cfg, n) > 0]
        if getattr(cfg, "augment", "none") != "none" or cfg.k_disc != 1 or cfg.reuse_fakes:
            bad.append("augment" if getattr(cfg, "augment", "none") != "none" else
                       "k_disc" if cfg.k_disc != 1 else "reuse_fakes")
        if bad:
            raise ValueError(f"{bad[0]} applies to discriminators on images; the {cfg.model} discriminator "
                             "scores codes")
