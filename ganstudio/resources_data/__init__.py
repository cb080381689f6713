"""Data files shipped inside the package (read with importlib.resources, so they work from a wheel).

``imagenet_classes.json``: the 1000 ImageNet-1k class names in label order (index k is class k
of every ImageNet-conditional model).  Taken from the curated short names of the MIT-licensed
``imagenet-classes`` package (imagenet1k_clean_names.json, version 0.2.1), with three edits so
that every name is unique and short: 638 "maillot (leotard)", 744 "projectile", 836 "sunglass"
(WordNet's own first lemmas for those synsets).
"""
from __future__ import annotations

import functools
import json
from importlib import resources


@functools.lru_cache(maxsize=None)
def _imagenet() -> tuple[str, ...]:
    text = resources.files(__name__).joinpath("imagenet_classes.json").read_text(encoding="utf-8")
    names = json.loads(text)
    if not isinstance(names, list) or len(names) != 1000:
        raise RuntimeError("imagenet_classes.json must list 1000 names")
    return tuple(names)


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet class names, class k at index k."""
    return list(_imagenet())
