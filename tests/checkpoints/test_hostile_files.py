"""Files made to hurt the loaders: deep JSON, absurd configs, shared-reference and allocation bombs,
pipes, impossible names.  Each is one CheckpointError (or ValueError / LatentFileError) naming the
file, raised before anything large is allocated; none hangs."""
import dataclasses
import json
import os
import struct

import pytest
import torch
from safetensors.torch import save_file

from ganstudio.checkpoints import CheckpointError, load_checkpoint, save_checkpoint
from ganstudio.checkpoints import META_KEY
from ganstudio.checkpoints.importers import _common, convert_foreign, open_any
from ganstudio.checkpoints.importers._unpickle import loads_pickle
from ganstudio.engine import Renderer, RenderState, load_session
from ganstudio.engine.latent_files import LatentFileError, read_latent_file
from ganstudio.models import create_generator

TINY = dict(z_dim=8, img_resolution=16, ngf=4, ndf=4)


@pytest.fixture
def good(tmp_path):
    torch.manual_seed(0)
    return save_checkpoint(tmp_path / "good.safetensors", create_generator("dcgan", **TINY))


def _header(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def _rewrite(path, out, header=None, raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    _, data = _header(path)
    out.write_bytes(struct.pack("<Q", len(h)) + h + data)
    return out


def _with_meta(good, out, **changes):
    header, _ = _header(good)
    meta = json.loads(header["__metadata__"][META_KEY])
    for k, v in changes.items():
        if k.startswith("config."):
            meta["config"][k[len("config."):]] = v
        else:
            meta[k] = v
    header["__metadata__"][META_KEY] = json.dumps(meta)
    return _rewrite(good, out, header)


def _refused(fn, *patterns, error=CheckpointError):
    with pytest.raises(error) as e:
        fn()
    for p in patterns:
        assert p in str(e.value), f"{p!r} not in {str(e.value)!r}"
    return str(e.value)


def test_infinite_data_offsets(good, tmp_path):
    header, _ = _header(good)
    key = next(k for k in header if k != "__metadata__")
    header[key]["data_offsets"] = [0, float("inf")]
    bad = _rewrite(good, tmp_path / "inf.safetensors", header)
    _refused(lambda: open_any(bad), "inf.safetensors", "corrupt header")


def test_header_nested_beyond_the_recursion_limit(good, tmp_path):
    bad = _rewrite(good, tmp_path / "deep.safetensors", raw_header=b'{"a":' * 50000 + b"1" + b"}" * 50000)
    _refused(lambda: open_any(bad), "deep.safetensors", "not valid JSON")


@pytest.mark.parametrize("changes, words", [
    ({"format_version": "2"}, "format_version"),
    ({"model": ["dcgan"]}, "'model' entry is not a text"),
    ({"training": "abc"}, "'training' entry is not an object"),
    ({"config.ngf": 2**30}, "beyond what any architecture uses"),
    ({"config.img_resolution": float("inf")}, "beyond what any architecture uses"),
])
def test_metadata_of_the_wrong_type_or_size(good, tmp_path, changes, words):
    bad = _with_meta(good, tmp_path / "meta.safetensors", **changes)
    _refused(lambda: load_checkpoint(bad), "meta.safetensors", words)


def test_metadata_entry_that_is_not_an_object(good, tmp_path):
    header, _ = _header(good)
    header["__metadata__"] = {META_KEY: 5}
    bad = _rewrite(good, tmp_path / "md.safetensors", header)
    _refused(lambda: open_any(bad), "md.safetensors")


def test_a_config_for_a_huge_model_is_refused_before_building_it(good, tmp_path, monkeypatch):
    bad = _with_meta(good, tmp_path / "wide.safetensors", **{"config.ngf": 8192})
    from ganstudio import models
    original, built = models.create_generator, []

    def recording(*a, **k):
        module = original(*a, **k)
        built.append(next(module.parameters()).device.type)
        return module
    monkeypatch.setattr(models, "create_generator", recording)
    _refused(lambda: load_checkpoint(bad), "wrong shape", "16384")
    assert built == ["meta"]  # checked against its meta-device twin, never allocated


def test_float8_weights(tmp_path):
    G = create_generator("dcgan", **TINY)
    tensors = {f"G.{k}": v.to(torch.float8_e4m3fn) if v.is_floating_point() else v
               for k, v in G.state_dict().items()}
    meta = {"format": "ganstudio", "format_version": 1, "model": "dcgan", "config": dataclasses.asdict(G.config)}
    save_file(tensors, str(tmp_path / "f8.safetensors"), metadata={META_KEY: json.dumps(meta)})
    _refused(lambda: load_checkpoint(tmp_path / "f8.safetensors"), "unsupported dtype", "float8")


def test_shared_reference_bomb_is_walked_once(monkeypatch):
    level = {"w": torch.zeros(1)}
    for _ in range(3):  # 3 levels x 60 keys, all one object: 216,000 paths, 4 dicts
        level = {f"k{i}": level for i in range(60)}
    calls = []
    real = _common.is_state_dict
    monkeypatch.setattr(_common, "is_state_dict", lambda o: (calls.append(1), real(o))[1])
    assert list(_common.candidate_state_dicts(level, max_depth=5))  # the tensor dict, once
    assert len(calls) < 20
    assert "1 tensor(s)" in _common.describe(level)


def test_bytearray_bomb_in_a_pickle():
    bomb = b"\x80\x02cbuiltins\nbytearray\nJ\x00\x00\x00\x40\x85R."  # bytearray(2**30) in 28 bytes
    _refused(lambda: loads_pickle(bomb, "bomb.pkl"), "bomb.pkl", "bytearray")


def test_inferred_config_larger_than_the_file(tmp_path):
    small = tmp_path / "small.pkl"
    small.write_bytes(b"x" * 1000)
    _refused(lambda: _common.create_checked("stylegan2", small, "why", img_resolution=1024, z_dim=512, w_dim=512,
                                            channel_base=32768, channel_max=512),
             "small.pkl", "more than this")


def test_a_broken_record_inside_a_recognised_format_names_the_file(tmp_path, monkeypatch):
    import types
    from ganstudio.checkpoints import importers
    fake = types.SimpleNamespace(NAME="fake-format", DESCRIPTION="test", sniff=lambda path, obj: True,
                                 convert=lambda path, obj: {}["synthesis.b4.resample_filter"])
    monkeypatch.setattr(importers, "importers", lambda: [fake])
    f = tmp_path / "net.pkl"
    f.write_bytes(b"x")
    msg = _refused(lambda: convert_foreign(f, obj={}), "net.pkl", "malformed fake-format", "KeyError")
    assert "resample_filter" in msg


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_pipe_is_refused_not_read(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    _refused(lambda: open_any(fifo), "not a regular file")
    _refused(lambda: read_latent_file(fifo), "not a regular file", error=LatentFileError)
    _refused(lambda: load_session(fifo), "not a session file", error=ValueError)


def test_impossible_names(tmp_path):
    long = tmp_path / ("a" * 5000)
    _refused(lambda: open_any(long), "cannot open")
    _refused(lambda: read_latent_file(long), "cannot be read", error=LatentFileError)
    _refused(lambda: read_latent_file(str(tmp_path / "a\0b.npy")), "cannot be read", error=LatentFileError)


@pytest.mark.parametrize("state, words", [
    ('{"truncation_psi": 1' + "0" * 400 + "}", "truncation_psi"),
    ('{"z": [' * 5000 + "1" + "]" * 5000 + "}", "nested too deeply"),
    ('{"seed": 1' + "0" * 5000 + "}", "not a session file"),
])
def test_session_numbers_and_nesting_beyond_limits(tmp_path, state, words):
    f = tmp_path / "s.json"
    f.write_text('{"format": "ganstudio-session", "version": 1, "state": ' + state + "}")
    msg = _refused(lambda: load_session(f), "s.json", words, error=ValueError)
    assert len(msg) < 600


def test_edit_layer_range_is_checked_before_it_is_built():
    r = Renderer("cpu")
    res = r.render(RenderState(model="registry:stylegan2:tiny", edits=(("w", 0, 1.0, (0, 10**9)),)))
    assert res.image is None and "out of range" in res.error


def test_cli_output_path_that_is_a_folder(tmp_path, capsys):
    from ganstudio.cli import main
    assert main(["sample", "registry:dcgan:tiny", "--seeds", "0", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "is a folder" in err.strip().splitlines()[-1]


def test_pickle_bombs_of_shared_network_records():
    from ganstudio.checkpoints.importers._unpickle import PersistentObject
    leaf = PersistentObject("L", {"_parameters": {"w": torch.zeros(1)}})
    tree = PersistentObject("T", {"_modules": {"a": leaf, "b": leaf}})
    _refused(lambda: tree.state_dict(), "appears twice")


class _NumpyBomb:
    """Pickles as numpy's own array reconstruction, declaring ``shape`` ``(shape, state)``."""

    def __init__(self, shape, state=None):
        self.shape, self.state = shape, state

    def __reduce__(self):
        import numpy as np
        args = (np.core.multiarray._reconstruct, (np.ndarray, self.shape, b"b"))
        return args if self.state is None else args + (self.state,)


@pytest.mark.parametrize("bomb", [
    _NumpyBomb((2**20, 2**20)),  # 1 TiB, asked of numpy by _reconstruct itself
    _NumpyBomb((0,), (1, (10**6, 10**5), "f4", False, b"\0" * 8)),  # by the state set after it
    _NumpyBomb((0,), (1, (10**6, 10**5), "O", False, [0] * 4)),  # object arrays: zero-filled, then filled
])
def test_numpy_arrays_are_sized_before_they_are_allocated(bomb, recwarn):
    import pickle
    import numpy as np
    if isinstance(bomb.state, tuple):
        bomb.state = bomb.state[:2] + (np.dtype(bomb.state[2]),) + bomb.state[3:]
    data = pickle.dumps({"a": bomb}, protocol=2)
    msg = _refused(lambda: loads_pickle(data, "bomb.pkl"), "bomb.pkl")
    assert "numpy array" in msg and "MemoryError" not in msg
    a = np.arange(6, dtype=np.float32).reshape(2, 3)  # a real array still loads, as a plain array
    back = loads_pickle(pickle.dumps({"a": a}, protocol=2))["a"]
    assert np.array_equal(back, a) and type(np.asarray(back)) is np.ndarray


def test_a_storage_payload_naming_a_refused_global_names_it(tmp_path):
    # A plain pickle wraps each storage in torch.storage._load_from_bytes (a torch.save file, read
    # weights-only): a payload referencing os.system showed torch's paragraph about weights_only.
    import io
    import pickle

    class Evil:
        def __reduce__(self):
            return os.system, ("echo pwned",)
    inner = io.BytesIO()
    torch.save({"x": Evil()}, inner)

    class Outer:
        def __reduce__(self):
            return torch.storage._load_from_bytes, (inner.getvalue(),)
    bad = tmp_path / "storage.pkl"
    bad.write_bytes(pickle.dumps(Outer(), protocol=2))
    msg = _refused(lambda: open_any(bad), "storage.pkl", f"{os.system.__module__}.system", "refused")
    assert "Weights only" not in msg and "\n" not in msg


@pytest.mark.parametrize("cut", [100, 3000])
def test_import_of_a_broken_ganstudio_checkpoint_names_the_problem(good, tmp_path, capsys, cut):
    # `ganstudio import` said "already a GAN Studio checkpoint; nothing to import" where `sample` said
    # what was wrong; 100 bytes in, the header's length bytes even read as a pickle's opening.
    from ganstudio.cli import main
    bad = tmp_path / "cut.safetensors"
    bad.write_bytes(good.read_bytes()[:cut])
    broken = _with_meta(good, tmp_path / "meta.safetensors", config="not an object")
    for path, words in ((bad, "truncated"), (broken, "'config' entry is not an object")):
        assert main(["sample", str(path), "--out", str(tmp_path / "x.png")]) == 2
        sample_line = capsys.readouterr().err
        assert main(["import", str(path)]) == 2
        import_line = capsys.readouterr().err
        assert import_line.replace("import", "sample", 1) == sample_line, (import_line, sample_line)
        assert words in import_line and "nothing to import" not in import_line and "pickle" not in import_line
    assert main(["import", str(good)]) == 2
    assert "already a GAN Studio checkpoint; nothing to import" in capsys.readouterr().err
