"""One registry for every model: the picker, the tests, training and the importers go through it.

Each family module calls :func:`register` at import time.  A registered name maps to a
config dataclass and builders for G and D; ``create_generator(name, **overrides)`` is the
one way in.  Every entry carries a ``tiny`` override set that tests use.
"""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

_REGISTRY: dict[str, "ModelSpec"] = {}
_loaded = False


@dataclass
class ModelSpec:
    name: str  # registry name, e.g. "dcgan"
    family: str  # family file, e.g. "dcgan"
    config_cls: type  # dataclass of architecture hyperparameters
    build_generator: Callable[[Any], Any]
    build_discriminator: Optional[Callable[[Any], Any]] = None  # None for VAE-style models
    tiny: dict = field(default_factory=dict)  # overrides giving a fast test variant
    paper: str = ""  # citation shown on the model card
    description: str = ""


def register(name: str, *, family: str, config_cls: type, generator: Callable, discriminator: Optional[Callable] = None,
             tiny: Optional[dict] = None, paper: str = "", description: str = "") -> None:
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} registered twice")
    _REGISTRY[name] = ModelSpec(name, family, config_cls, generator, discriminator, dict(tiny or {}), paper, description)


def _load_all() -> None:
    # Import every public module of ganstudio.models so that a new family file registers itself.
    global _loaded
    if _loaded:
        return
    _loaded = True
    import ganstudio.models as pkg
    for mod in pkgutil.iter_modules(pkg.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"ganstudio.models.{mod.name}")


def list_models() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    _load_all()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def make_config(name: str, config: Any = None, **overrides):
    """Build the config dataclass of ``name`` from a dataclass, a dict, and/or keyword overrides."""
    spec = get_spec(name)
    if config is None:
        config = {}
    if dataclasses.is_dataclass(config):
        config = dataclasses.asdict(config)
    config = {**config, **overrides}
    known = {f.name for f in dataclasses.fields(spec.config_cls)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise TypeError(f"unknown config field(s) for {name}: {', '.join(unknown)}")
    # JSON turns tuples into lists; give tuple-typed fields their tuples back.
    for f in dataclasses.fields(spec.config_cls):
        if isinstance(config.get(f.name), list) and isinstance(f.default, tuple):
            config[f.name] = tuple(config[f.name])
    return spec.config_cls(**config)


def tiny_config(name: str, **overrides):
    return make_config(name, **{**get_spec(name).tiny, **overrides})


def create_generator(name: str, config: Any = None, **overrides):
    spec = get_spec(name)
    cfg = make_config(name, config, **overrides)
    G = spec.build_generator(cfg)
    G.config, G.model_name = cfg, name
    return G


def create_discriminator(name: str, config: Any = None, **overrides):
    spec = get_spec(name)
    if spec.build_discriminator is None:
        return None
    cfg = make_config(name, config, **overrides)
    D = spec.build_discriminator(cfg)
    D.config, D.model_name = cfg, name
    return D
