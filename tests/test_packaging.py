"""What an installed GAN Studio carries: pyproject's package list and package data, and how the
shipped models are found through importlib.resources."""
from __future__ import annotations

import fnmatch
import json
import sys
from pathlib import Path

import pytest
import setuptools

import ganstudio
from ganstudio import pretrained

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = Path(__file__).resolve().parents[1]
SETUPTOOLS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _manifest_files(node) -> list[str]:
    """Every "file" named anywhere in the manifest (the models and the classifier(s))."""
    if isinstance(node, dict):
        own = [node["file"]] if isinstance(node.get("file"), str) else []
        return own + [f for v in node.values() for f in _manifest_files(v)]
    if isinstance(node, list):
        return [f for v in node for f in _manifest_files(v)]
    return []


def test_every_package_on_disk_is_listed():
    # the list is explicit (pretrained/ is mapped in under another name): a new subpackage must join it
    on_disk = set(setuptools.find_packages(str(ROOT), include=["ganstudio", "ganstudio.*"]))
    listed = set(SETUPTOOLS["packages"])
    assert on_disk - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert listed - on_disk == {pretrained.DATA_PACKAGE}


def test_package_data_carries_the_manifest_and_every_file_it_names():
    source = ROOT / SETUPTOOLS["package-dir"][pretrained.DATA_PACKAGE]
    assert source == pretrained.SOURCE_DIR
    patterns = SETUPTOOLS["package-data"][pretrained.DATA_PACKAGE]
    manifest = json.loads((source / "manifest.json").read_text())
    files = ["manifest.json"] + _manifest_files(manifest)
    assert len(files) > 2  # the manifest, models and a classifier
    for name in files:
        assert "/" not in name, f"{name}: package-data globs here do not reach into subfolders"
        assert any(fnmatch.fnmatch(name, p) for p in patterns), f"{name} would be left out of the wheel"
        assert (source / name).is_file(), f"{name} is named by the manifest but absent"
    assert (source / "__init__.py").is_file()  # a regular package, so importlib.resources finds it anywhere


def test_shipped_dir_is_read_through_importlib_resources(tmp_path, monkeypatch):
    """An installed copy (here: a second folder on ganstudio's package path) wins over the source tree."""
    installed = tmp_path / "ganstudio" / "pretrained_data"
    installed.mkdir(parents=True)
    (installed / "__init__.py").write_text("")
    (installed / "manifest.json").write_text('{"models": []}')
    monkeypatch.setattr(ganstudio, "__path__", [*ganstudio.__path__, str(tmp_path / "ganstudio")])
    monkeypatch.delitem(sys.modules, pretrained.DATA_PACKAGE, raising=False)
    try:
        assert pretrained.shipped_dir() == installed
    finally:
        sys.modules.pop(pretrained.DATA_PACKAGE, None)


def test_without_the_data_package_the_source_tree_is_used(monkeypatch):
    monkeypatch.setattr(pretrained, "DATA_PACKAGE", "ganstudio.no_such_data_package")
    assert pretrained.shipped_dir() == pretrained.SOURCE_DIR
