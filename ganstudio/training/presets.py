"""Training presets: one per family, each its paper's recipe scaled down to small data sets.

A preset is a :class:`TrainConfig`; every field can be overridden from the command line with
``--set key=value`` (``--set model.ngf=32`` reaches the model's config dataclass).  The
resolved config is saved as the run folder's ``config.json``.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional

from ganstudio.training.augment import AUGMENTS, DIFFAUGMENT_OPS, check_policy
from ganstudio.training.losses import LOSSES, SMOOTHABLE_LOSSES

OPTIMIZERS = ("adam", "rmsprop", "sgd")
DEVICES = ("auto", "cpu", "cuda", "mps")


@dataclass
class TrainConfig:
    # data
    data: str = "fashion-mnist"  # folder, IDX file/folder, or a built-in name (see training.data)
    resolution: int = 32  # training image size (the model's img_resolution)
    channels: int = 1  # 1 = grayscale, 3 = RGB (the model's img_channels)
    conditional: str = "no"  # "yes": needs labels, c_dim = classes; "auto": labels when the data has them; "no"
    flip: bool = False  # random horizontal flips of real images
    class_folders: bool = False  # an image folder's subfolders are classes
    subset: int = 0  # train on the first N images only (0 = all of them): limited-data experiments
    # model
    preset: str = "dcgan"  # name of the preset this config started from
    model: str = "dcgan"  # registry name of the model family
    model_config: dict = field(default_factory=dict)  # overrides of the model's config dataclass
    init_g: str = ""  # fine-tuning: G starts from the generator of this GAN Studio file (same architecture)
    w_avg_beta: float = 0.995  # StyleGAN w_avg tracking decay (also read from model.w_avg_beta); 0.995 = the model's own
    ema: float = 0.0  # decay of the EMA of G's weights (0 = no EMA)
    # optimization
    batch: int = 64  # global batch (split over processes when distributed)
    optimizer: str = "adam"  # adam | rmsprop (WGAN with clipping) | sgd (with momentum = beta1)
    lr_g: float = 2e-4  # generator learning rate
    lr_d: float = 2e-4  # discriminator learning rate (differs from lr_g for TTUR)
    betas_g: tuple = (0.5, 0.999)  # Adam betas of G (beta1 is SGD's momentum)
    betas_d: tuple = (0.5, 0.999)  # Adam betas of D
    k_disc: int = 1  # discriminator steps per generator step
    reuse_fakes: bool = False  # G step trains on the D step's fakes (DCGAN reference): one G forward per step; k_disc 1 only
    lazy_adam: bool = False  # with lazy R1 / PL: Adam lr * c and betas ** c, c = N / (N + 1) (Karras et al. 2020, B)
    # loss and regularizers (0 = off)
    loss: str = "ns"  # ns | minimax | lsgan | wgan | hinge | ebgan | began (the last two: autoencoder D)
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - value
    instance_noise: float = 0.0  # std of Gaussian noise on D's inputs, annealed linearly to 0
    clip: float = 0.0  # WGAN weight clipping bound c
    gp: float = 0.0  # WGAN-GP gradient penalty weight lambda
    r1: float = 0.0  # R1 penalty weight gamma (the penalty is gamma/2 * E||grad||^2)
    r1_every: int = 1  # lazy R1: apply every N D steps, scaled by N (StyleGAN2)
    dragan: float = 0.0  # DRAGAN penalty weight
    drift: float = 0.0  # ProGAN epsilon-drift weight on D(real)^2
    pl: float = 0.0  # StyleGAN2 path length regularization weight (2 in Karras et al. 2020); style models only
    pl_every: int = 4  # lazy path length regularization: every N G steps, scaled by N
    style_mixing: float = 0.0  # StyleGAN mixing probability (models with style layers)
    aux_class: float = 0.0  # ACGAN auxiliary class loss weight
    info: float = 0.0  # InfoGAN mutual-information weight (categorical code)
    info_cont_weight: float = 0.1  # InfoGAN weight of the continuous codes relative to the categorical one
    ortho: float = 0.0  # BigGAN orthogonal regularization weight on G
    vae_beta: float = 1.0  # beta-VAE weight of the KL term
    vq_beta: float = 0.25  # VQ-VAE commitment weight beta (van den Oord et al. 2017: 0.25)
    vq_steps: int = 0  # VQ-VAE: steps of stage 1 (encoder, codebook, decoder); the steps after it train the prior
    margin: float = 1.0  # EBGAN margin m: D pushes the energy of fakes up to m (loss ebgan)
    pt: float = 0.0  # EBGAN pulling-away term weight on D's embeddings of fakes
    began_gamma: float = 0.5  # BEGAN equilibrium gamma = E[L(G(z))] / E[L(x)], in (0, 1] (loss began)
    lambda_k: float = 0.001  # BEGAN learning rate of the k_t control
    augment: str = "none"  # none | diffaugment | ada: augment every image D sees, for small data sets
    diffaugment: str = "color,translation,cutout"  # DiffAugment's operations (Zhao et al. 2020), comma-separated
    ada_target: float = 0.6  # ADA: the overfitting measure r_t = E[sign(D(real))] that p steers to
    ada_kimg: float = 100.0  # ADA: thousands of images for p to go from 0 to 1 (500 in the paper; our runs are short)
    ada_interval: int = 4  # ADA: D steps between adjustments of p
    # schedule
    steps: int = 10000  # generator steps (D takes k_disc steps for each)
    phase_kimg: float = 0.0  # ProGAN: thousands of images per fade-in and per stable phase
    log_every: int = 10  # steps between stat lines (log.jsonl, progress)
    sample_every: int = 500  # steps between sample grids (0 = only at the end)
    sample_count: int = 64  # images in the sample grid
    ckpt_every: int = 1000  # steps between checkpoints (0 = only at the end)
    keep: int = 3  # checkpoints kept (the newest ones)
    # run
    seed: int = 0  # seeds weights, data order, latents and every other random draw
    device: str = "auto"  # auto | cpu | cuda | mps
    num_workers: int = 0  # data-loading processes
    amp: bool = False  # bfloat16 autocast (CUDA only; ignored elsewhere)

    def __post_init__(self):
        # One name for the w_avg decay: model.w_avg_beta (older runs, the model's own field) folds into w_avg_beta.
        if isinstance(self.model_config, dict) and "w_avg_beta" in self.model_config:
            self.model_config = dict(self.model_config)
            v = self.model_config.pop("w_avg_beta")
            if self.w_avg_beta != DEFAULT_W_AVG_BETA and v != self.w_avg_beta:
                raise ValueError(f"w_avg_beta={self.w_avg_beta} contradicts model.w_avg_beta={v}")
            self.w_avg_beta = v

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for k, v in d.items():
            if isinstance(v, tuple):
                d[k] = list(v)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        d = {RENAMED.get(k, k): v for k, v in d.items()}  # config.json of runs made before a rename
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(known))
        if unknown:
            raise ValueError(f"unknown training setting(s): {', '.join(unknown)}")
        cfg = cls(**{k: (tuple(v) if isinstance(known[k].default, tuple) and isinstance(v, list) else v)
                     for k, v in d.items()})
        return cfg.validate()

    def validate(self) -> "TrainConfig":
        """Raise ValueError naming the first bad setting."""
        self._check_types()
        for f in dataclasses.fields(self):  # nan passed every "< 0" test below; inf made every loss inf
            v = getattr(self, f.name)
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"{f.name} must be a finite number, got {v}")
        if not 0 <= self.seed < 2 ** 63:
            raise ValueError(f"seed must be a whole number in [0, 2**63), got {self.seed}")
        if not 4 <= self.resolution <= 4096:
            raise ValueError(f"resolution must be in [4, 4096], got {self.resolution}")
        if not 0 <= self.style_mixing <= 1:
            raise ValueError(f"style_mixing is a probability in [0, 1], got {self.style_mixing}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; known: {', '.join(LOSSES)}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ValueError(f"unknown device {self.device!r}; known: {', '.join(DEVICES)} or cuda:N")
        self._check_augment()
        if self.conditional not in ("yes", "no", "auto"):
            raise ValueError(f"conditional must be yes, no or auto, got {self.conditional!r}")
        for name in ("steps", "batch", "k_disc", "resolution", "r1_every", "pl_every", "sample_count", "keep",
                     "log_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("sample_every", "ckpt_every", "num_workers", "clip", "gp", "r1", "pl", "dragan", "drift",
                     "label_smoothing", "instance_noise", "aux_class", "info", "info_cont_weight", "ortho",
                     "style_mixing", "vae_beta", "vq_beta", "vq_steps", "phase_kimg", "lr_g", "lr_d", "margin", "pt", "lambda_k"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {self.channels}")
        if not 0 <= self.ema < 1:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.label_smoothing and self.loss not in SMOOTHABLE_LOSSES:
            raise ValueError(f"label_smoothing changes the real targets of the {', '.join(SMOOTHABLE_LOSSES)} losses; "
                             f"the {self.loss} loss has none")
        if not 0 < self.began_gamma <= 1:
            raise ValueError(f"began_gamma must be in (0, 1], got {self.began_gamma}")
        if not 0 <= self.w_avg_beta < 1:
            raise ValueError(f"w_avg_beta must be in [0, 1), got {self.w_avg_beta}")
        for name in ("betas_g", "betas_d"):
            b = getattr(self, name)
            if len(b) != 2 or not all(0 <= x < 1 for x in b):
                raise ValueError(f"{name} must be two numbers in [0, 1), got {list(b)}")
        if not isinstance(self.model_config, dict):
            raise ValueError("model_config must be a mapping of model config fields")
        for name in ("lr_g", "lr_d"):  # beyond this Adam's moments overflow: never a learning rate
            if not getattr(self, name) <= MAX_LR:
                raise ValueError(f"{name} must be a number up to {MAX_LR:g}, got {getattr(self, name)}")
        if self.sample_count > MAX_SAMPLES:
            raise ValueError(f"sample_count must be at most {MAX_SAMPLES} (a grid of fixed latents), "
                             f"got {self.sample_count}")
        return self

    def _check_augment(self) -> None:
        if self.augment not in AUGMENTS:
            raise ValueError(f"unknown augment {self.augment!r}; known: {', '.join(AUGMENTS)}")
        if not check_policy(self.diffaugment) and self.augment == "diffaugment":
            raise ValueError(f"diffaugment names no operation; known: {', '.join(DIFFAUGMENT_OPS)}")
        if not 0 <= self.ada_target <= 1:
            raise ValueError(f"ada_target is a value of E[sign(D(real))] in [0, 1], got {self.ada_target}")
        if not self.ada_kimg > 0:
            raise ValueError(f"ada_kimg must be > 0, got {self.ada_kimg}")
        if self.ada_interval < 1 or self.subset < 0:
            bad = "ada_interval must be >= 1" if self.ada_interval < 1 else "subset must be >= 0 (0 = all images)"
            raise ValueError(f"{bad}, got {self.ada_interval if self.ada_interval < 1 else self.subset}")

    def _check_types(self) -> None:
        """Each field of the type its default has: a hand-edited config.json may hold anything."""
        for f in dataclasses.fields(self):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            v = getattr(self, f.name)
            if default is None:  # Optional fields: checked where they are used
                continue
            if isinstance(default, bool):
                ok, kind = isinstance(v, bool), "true or false"
            elif isinstance(default, int):
                ok, kind = isinstance(v, int) and not isinstance(v, bool), "a whole number"
            elif isinstance(default, float):
                ok, kind = isinstance(v, (int, float)) and not isinstance(v, bool), "a number"
            elif isinstance(default, str):
                ok, kind = isinstance(v, str), "a text"
            elif isinstance(default, (tuple, list)):
                ok, kind = isinstance(v, (tuple, list)), "a list"
            elif isinstance(default, dict):
                ok, kind = isinstance(v, dict), "a mapping"
            else:
                continue
            if not ok:
                raise ValueError(f"{f.name} must be {kind}, got {str(v)[:60]!r}")


MAX_LR = 10.0
DEFAULT_W_AVG_BETA = 0.995  # TrainConfig's default, the model's own: only another value is a setting
# Old setting names -> new: "info_cont" was both this loss weight and the model's code count (model.info_cont).
RENAMED = {"info_cont": "info_cont_weight"}
MAX_SAMPLES = 1024


def _p(**kw) -> TrainConfig:
    return TrainConfig(**kw)


# Each recipe cites its paper; "small scale" means 32 px grayscale data and short runs.
PRESETS: dict[str, TrainConfig] = {
    # Radford et al. 2016: Adam lr 2e-4, beta1 0.5, batch 128, N(0, 0.02) init.
    "dcgan": _p(preset="dcgan", model="dcgan", batch=128, steps=5000, reuse_fakes=True),
    # Arjovsky et al. 2017, Alg. 1: RMSProp lr 5e-5, c = 0.01, n_critic = 5, batch 64.
    "wgan-clip": _p(preset="wgan-clip", model="dcgan", loss="wgan", clip=0.01, optimizer="rmsprop",
                    lr_g=5e-5, lr_d=5e-5, k_disc=5, batch=64, steps=10000),
    # Gulrajani et al. 2017, Alg. 1: Adam lr 1e-4, betas (0, 0.9), lambda 10, n_critic 5.
    "wgan-gp": _p(preset="wgan-gp", model="dcgan", loss="wgan", gp=10.0, lr_g=1e-4, lr_d=1e-4,
                  betas_g=(0.0, 0.9), betas_d=(0.0, 0.9), k_disc=5, batch=64, steps=10000,
                  model_config={"d_norm": "layer"}),  # the paper's critic has no BatchNorm
    # Mao et al. 2017: least squares, Adam lr 2e-4, beta1 0.5.
    "lsgan": _p(preset="lsgan", model="dcgan", loss="lsgan", batch=64, steps=5000),
    # Mirza & Osindero 2014 on MNIST; DCGAN optimizer settings.
    "cgan": _p(preset="cgan", model="cgan", data="mnist", conditional="yes", batch=64, steps=5000),
    # Odena et al. 2017: Adam lr 2e-4, beta1 0.5, batch 100, auxiliary classifier.
    "acgan": _p(preset="acgan", model="acgan", conditional="yes", aux_class=1.0, batch=100, steps=5000),
    # Miyato & Koyama 2018: hinge loss, Adam lr 2e-4, betas (0, 0.9), n_dis 5.
    "sngan-projection": _p(preset="sngan-projection", model="sngan-projection", conditional="yes", loss="hinge",
                           betas_g=(0.0, 0.9), betas_d=(0.0, 0.9), k_disc=5, batch=64, steps=5000),
    # Zhang et al. 2019: hinge, TTUR lr_g 1e-4 / lr_d 4e-4, betas (0, 0.9), one D step.
    "sagan": _p(preset="sagan", model="sagan", conditional="auto", loss="hinge", lr_g=1e-4, lr_d=4e-4,
                betas_g=(0.0, 0.9), betas_d=(0.0, 0.9), batch=64, steps=10000),
    # Brock et al. 2019: hinge, lr_g 5e-5 / lr_d 2e-4, betas (0, 0.999), 2 D steps, EMA of G,
    # orthogonal regularization 1e-4.  Small scale: EMA decay 0.999, not the paper's 0.9999 (which
    # it starts after 20k steps): over a run of 10k steps 0.9999 would average mostly early weights.
    "biggan": _p(preset="biggan", model="biggan", conditional="auto", loss="hinge", lr_g=5e-5, lr_d=2e-4,
                 betas_g=(0.0, 0.999), betas_d=(0.0, 0.999), k_disc=2, ema=0.999, ortho=1e-4, batch=64,
                 steps=10000),
    # Karras et al. 2018: WGAN-GP with lambda 10 and drift 1e-3, Adam lr 1e-3, betas (0, 0.99),
    # EMA 0.999, progressive growing (fade-in and stable phases; 800 kimg each in the paper).
    "progan": _p(preset="progan", model="progan", loss="wgan", gp=10.0, drift=1e-3, lr_g=1e-3, lr_d=1e-3,
                 betas_g=(0.0, 0.99), betas_d=(0.0, 0.99), ema=0.999, phase_kimg=60.0, batch=32, steps=20000),
    # Karras et al. 2020: non-saturating loss, lazy R1 (every 16 steps), Adam lr 2e-3, betas (0, 0.99),
    # style mixing 0.9, EMA of G; gamma scaled down for small images.  The paper's path length
    # regularization (pl=2) is off: its double backward doubles a CPU G step's cost.  Small scale:
    # R1 is folded into that D step (lazy_adam=true gives it the paper's own pass and Adam adjustment),
    # and the EMA decay is 0.999 per step, a half-life of 22 kimg at batch 32 (the paper's 10 kimg).
    "stylegan2": _p(preset="stylegan2", model="stylegan2", loss="ns", r1=1.0, r1_every=16, lr_g=2e-3,
                    lr_d=2e-3, betas_g=(0.0, 0.99), betas_d=(0.0, 0.99), style_mixing=0.9, ema=0.999,
                    batch=32, steps=20000),
    # Kingma & Welling 2014: ELBO with Adam (lr 1e-3); beta = 1 is the plain VAE.
    "vae": _p(preset="vae", model="vae", lr_g=1e-3, lr_d=1e-3, betas_g=(0.9, 0.999), betas_d=(0.9, 0.999),
              vae_beta=1.0, batch=128, steps=5000),
    # van den Oord et al. 2017: Adam lr 2e-4, beta 0.25, EMA codebook (decay 0.99); two stages in one run:
    # vq_steps of the VQ-VAE, then its gated PixelCNN prior on the frozen model's codes.  Small scale: lr 1e-3
    # (the run is a few thousand steps), an 8x8 grid of 64 codes for 32 px images, a 4-layer prior.
    "vqvae": _p(preset="vqvae", model="vqvae", lr_g=1e-3, lr_d=1e-3, betas_g=(0.9, 0.999), betas_d=(0.9, 0.999),
                vq_beta=0.25, vq_steps=2500, batch=64, steps=4500,
                model_config={"channels": 32, "res_channels": 16, "num_codes": 64, "code_dim": 16,
                              "prior_channels": 32, "prior_layers": 4, "prior_kernel": 5}),
    # Goodfellow et al. 2014 on MNIST, fully connected nets, k = 1; Adam stands in for the paper's
    # SGD with momentum, which needs a hand-tuned decay schedule.
    "mlp-gan": _p(preset="mlp-gan", model="mlp-gan", data="mnist", resolution=28, batch=64, steps=10000),
    # Chen et al. 2016 on MNIST: 62 noise dims, one 10-way categorical and two continuous codes,
    # lr_g 1e-3 / lr_d 2e-4, lambda 1 (0.1 on the continuous codes).
    "infogan": _p(preset="infogan", model="infogan", data="mnist", info=1.0, info_cont_weight=0.1, lr_g=1e-3,
                  lr_d=2e-4, batch=64, steps=5000, model_config={"z_dim": 62, "info_cat": 10, "info_cont": 2}),
    # Zhao et al. 2017: autoencoder D, margin loss, pulling-away term weight 0.1 (the paper's lambda_PT);
    # DCGAN's Adam settings.  The energy is a per-pixel mean squared error, so the margin is on that
    # scale (the paper's m values are for its own unnormalized norms).
    "ebgan": _p(preset="ebgan", model="ebgan", loss="ebgan", margin=1.0, pt=0.1, batch=64, steps=5000),
    # Berthelot et al. 2017: L1 autoencoder D, gamma 0.5, lambda_k 0.001, k_0 = 0, Adam lr 1e-4
    # (the paper's batch is 16; 32 here for CPU throughput).
    "began": _p(preset="began", model="began", loss="began", began_gamma=0.5, lambda_k=0.001, lr_g=1e-4,
                lr_d=1e-4, betas_g=(0.5, 0.999), betas_d=(0.5, 0.999), batch=32, steps=10000),
    # Makhzani et al. 2016 on MNIST: 1000-1000 ReLU encoder, decoder and code discriminator, a 2-D code
    # (the paper's visualizations) with a standard Gaussian prior, batch 100.  Adam stands in for the
    # paper's SGD with momentum, whose learning rates were tuned per data set.
    "aae": _p(preset="aae", model="aae", loss="ns", lr_g=1e-3, lr_d=1e-3, betas_g=(0.5, 0.999),
              betas_d=(0.5, 0.999), batch=100, steps=5000, model_config={"z_dim": 2}),
}


SECTIONS = ("data", "model", "optimization", "loss and regularizers", "schedule", "run")
SECTION_STARTS = ("data", "preset", "batch", "loss", "steps", "seed")  # the first field of each section


class Setting(NamedTuple):
    """One training setting, as the Train tab's form and ``--set`` list them."""
    section: str  # one of SECTIONS
    name: str  # the TrainConfig field (and the --set key)
    type: type  # bool, int, float, str, tuple or dict
    default: Any
    help: str
    applies: bool  # whether it means anything for the model asked about (see applies())


def section_of(name: str) -> str:
    """The section a TrainConfig field belongs to: the first field of each section starts it."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    starts = [names.index(first) for first in SECTION_STARTS]
    return SECTIONS[sum(1 for start in starts if names.index(name) >= start) - 1]


def _helps() -> dict[str, str]:
    """Each field's help: its comment in TrainConfig's source (the field name where there is no source)."""
    import inspect
    import re
    try:
        source = inspect.getsource(TrainConfig)
    except (OSError, TypeError):  # a frozen build without sources
        return {}
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^ {4}(\w+)\s*:[^#\n]*#\s*(.+)$", source, re.M)}


def settings(model: Optional[str] = None, model_config: Optional[dict] = None) -> list[Setting]:
    """Every TrainConfig setting in section order, with its help; ``applies`` for ``model`` (always
    True when no model is given).  The one listing the form and the docs build from."""
    helps = _helps()
    try:
        traits = model_traits(model, model_config) if model else None
    except (KeyError, TypeError, ValueError, RuntimeError):  # a model or settings that do not build: list all
        traits = None
    out = []
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        out.append(Setting(section_of(f.name), f.name, type(default), default,
                           helps.get(f.name) or f.name.replace("_", " "), traits is None or applies(f.name, traits)))
    return out


class ModelTraits(NamedTuple):
    """What decides which settings mean anything for a model."""
    caps: Any  # the generator's Capabilities
    heads: tuple  # the discriminator's auxiliary heads ("class_logits", "code")
    has_D: bool
    conditional: bool  # has a c_dim to set


def model_traits(model: str, model_config: Optional[dict] = None) -> ModelTraits:
    """What decides the settings' ``applies`` for a model (built small, see :func:`build_small`)."""
    from ganstudio.models import get_spec
    G, D = build_small(model, dict(model_config or {}))
    fields = {f.name for f in dataclasses.fields(get_spec(model).config_cls)}
    return ModelTraits(G.capabilities(), tuple(D.aux_heads()) if D is not None else (), D is not None,
                       "c_dim" in fields)


# Tiny-variant settings that change what a model is (its classes, codes, geometry, attention), not its size.
_NOT_SIZES = ("img_resolution", "img_channels", "c_dim", "z_dim", "info_cat", "info_cont", "attn_res", "layers",
              "attention_layer_position")


def build_small(model: str, over: dict, *, discriminator: bool = True):
    """(G, D) of ``model`` with ``over``, at the widths of the family's tiny variant, on the CPU: what
    they are (capabilities, heads, the resolutions they take) without their cost.  The meta device
    is no cheaper: spectral norm's power iterations ran through torch's Python meta kernels (43 s
    for biggan on a busy machine).  The random state is left as it was."""
    import warnings

    import torch

    from ganstudio.models import create_discriminator, create_generator, get_spec
    small = {k: v for k, v in get_spec(model).tiny.items() if k not in _NOT_SIZES}
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            G = create_generator(model, **{**over, **small})
            D = create_discriminator(model, **{**over, **small}) if discriminator else None
        except (TypeError, ValueError, RuntimeError, ZeroDivisionError):
            # The tiny widths do not fit this geometry (StyleGAN3's channel_base at 256 px): full size, no memory.
            with torch.device("meta"):
                G = create_generator(model, **over)
                D = create_discriminator(model, **over) if discriminator else None
    return G, D


# The one place that decides whether a setting applies to a model: name -> (test, why not).
_GAN_ONLY = ("loss", "label_smoothing", "instance_noise", "clip", "gp", "r1", "r1_every", "dragan", "drift",
             "k_disc", "reuse_fakes", "lr_d", "betas_d", "augment", "diffaugment", "ada_target", "ada_kimg",
             "ada_interval")
REQUIRES: dict[str, tuple[Callable[[ModelTraits], bool], str]] = {
    **{name: ((lambda t: t.has_D), "models with a discriminator") for name in _GAN_ONLY},
    "style_mixing": ((lambda t: t.caps.style_layers), "style-based generators"),
    "pl": ((lambda t: t.caps.style_layers), "style-based generators"),
    "pl_every": ((lambda t: t.caps.style_layers), "style-based generators"),
    "w_avg_beta": ((lambda t: t.caps.truncation == "w"), "StyleGAN's running mean of w"),
    "phase_kimg": ((lambda t: t.caps.progressive), "progressive models"),
    "vae_beta": ((lambda t: t.caps.encoder and not t.has_D), "VAEs"),
    "vq_beta": ((lambda t: bool(t.caps.code_grid)), "VQ-VAEs"),
    "vq_steps": ((lambda t: bool(t.caps.code_grid)), "VQ-VAEs"),
    "aux_class": ((lambda t: "class_logits" in t.heads), "discriminators with a class head (acgan)"),
    "info": ((lambda t: "code" in t.heads), "models with InfoGAN latent codes"),
    "info_cont_weight": ((lambda t: "code" in t.heads), "models with InfoGAN latent codes"),
    "conditional": ((lambda t: t.conditional), "class-conditional models"),
}
# The adversarial autoencoder's D (a model with a discriminator and an encoder) scores codes: the settings
# of a discriminator on images do not apply to it, its loss and optimizer do.
for _name in _GAN_ONLY:
    if _name not in ("loss", "label_smoothing", "lr_d", "betas_d"):
        REQUIRES[_name] = ((lambda t: t.has_D and not t.caps.encoder), "discriminators on images")
for _name in ("margin", "pt", "began_gamma", "lambda_k"):
    REQUIRES[_name] = ((lambda t: "embedding" in t.heads), "autoencoder discriminators (ebgan, began)")


def applies(name: str, traits: ModelTraits) -> bool:
    """Whether setting ``name`` means anything for a model with ``traits``."""
    test = REQUIRES.get(name)
    return test is None or bool(test[0](traits))


def list_presets() -> list[str]:
    return sorted(PRESETS)


def get_preset(name: str) -> TrainConfig:
    """A fresh copy of the named preset."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(list_presets())}")
    return dataclasses.replace(PRESETS[name], model_config=dict(PRESETS[name].model_config))


# Larger images are resized to the preset's size unless asked for: a folder of photos would otherwise
# make a model that takes hours per step on a CPU (and its data set tens of GB in memory).
MAX_FOLLOWED_RESOLUTION = 256


def follow_data(cfg: TrainConfig, explicit=frozenset()) -> tuple[TrainConfig, list[str]]:
    """Channels and resolution from the data set, unless named in ``explicit`` (what the user set).

    A preset's geometry is its recipe for its own data set; on other data the data decides (the dcgan
    preset on shapes-upright trained grey without a word).  Returns the config and one line per
    decision or per mismatch the user set, to show before training starts."""
    from ganstudio.training.data import data_geometry

    geo = data_geometry(cfg.data)
    if geo is None:
        return cfg, []
    own_data = cfg.preset in PRESETS and PRESETS[cfg.preset].data == cfg.data
    kind = {1: "grey", 3: "colour"}
    changes, notes = {}, []
    if cfg.channels != geo.channels and not (own_data and "channels" not in explicit):
        if "channels" in explicit:
            how = "trained as grey (luma)" if cfg.channels == 1 else "fed as three equal channels"
            notes.append(f"channels={cfg.channels} as set: the {kind[geo.channels]} images of {cfg.data} are {how}")
        else:
            changes["channels"] = geo.channels
            notes.append(f"channels={geo.channels}: {cfg.data} is {kind[geo.channels]} (set channels to override)")
    r = geo.resolution
    if r is not None and cfg.resolution != r and not (own_data and "resolution" not in explicit):
        if "resolution" in explicit or r > MAX_FOLLOWED_RESOLUTION or not _model_accepts(cfg, r):
            notes.append(f"resolution={cfg.resolution}: the {r}x{r} images of {cfg.data} are resized to "
                         f"{cfg.resolution}x{cfg.resolution}" + ("" if "resolution" in explicit else
                                                                 " (set resolution to train at another size)"))
        else:
            changes["resolution"] = r
            notes.append(f"resolution={r}: the size of the images of {cfg.data} (set resolution to override)")
    return (dataclasses.replace(cfg, **changes).validate() if changes else cfg), notes


def _model_accepts(cfg: TrainConfig, resolution: int) -> bool:
    try:
        build_small(cfg.model, {**cfg.model_config, "img_resolution": resolution, "img_channels": cfg.channels},
                    discriminator=False)
    except Exception:  # noqa: BLE001 - any refusal means: keep the preset's resolution
        return False
    return True


def _parse_bool(s: str) -> bool:
    v = s.strip().lower()
    if v in ("1", "true", "yes", "on"):
        return True
    if v in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {s!r}")


def _parse_value(raw: str, default: Any, key: str) -> Any:
    try:
        if isinstance(default, bool):
            return _parse_bool(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            text = raw.strip().strip("[]()")
            return tuple(float(x) for x in text.split(",") if x.strip())
        if isinstance(default, dict):
            v = json.loads(raw)
            if not isinstance(v, dict):
                raise ValueError
            return v
        return raw
    except ValueError:
        kind = type(default).__name__ if not isinstance(default, tuple) else "comma-separated numbers"
        raise ValueError(f"--set {key}={raw}: expected {kind}") from None


def _parse_model_value(raw: str) -> Any:
    # Model config fields: JSON when it parses (numbers, lists, booleans), else the plain string.
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        low = raw.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        return raw


def apply_overrides(cfg: TrainConfig, settings: list[str] | dict) -> TrainConfig:
    """Apply ``key=value`` strings (or a dict); ``model.KEY`` goes into model_config.  Validates."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    defaults = {name: getattr(cfg, name) for name in fields}
    items = settings.items() if isinstance(settings, dict) else [_split(s) for s in settings]
    cfg = dataclasses.replace(cfg, model_config=dict(cfg.model_config))
    for key, value in items:
        key = key.strip().replace("-", "_")
        key = RENAMED.get(key, key)
        if key == "model.w_avg_beta":  # one name: the model's field and the training setting are one knob
            key = "w_avg_beta"
        if key.startswith("model."):
            sub = key[len("model."):]
            if not sub:
                raise ValueError("--set model.KEY=VALUE needs a model config field name")
            cfg.model_config[sub] = _parse_model_value(value) if isinstance(value, str) else value
            continue
        if key not in fields:
            raise ValueError(f"--set: unknown setting {key!r}; known: {', '.join(sorted(fields))}, model.FIELD")
        if isinstance(value, str):
            value = _parse_value(value, defaults[key], key)
        setattr(cfg, key, value)
    return cfg.validate()


def _split(s: str) -> tuple[str, str]:
    if "=" not in s:
        raise ValueError(f"--set expects key=value, got {s!r}")
    k, v = s.split("=", 1)
    if not k.strip():
        raise ValueError(f"--set expects key=value, got {s!r}")
    return k, v
