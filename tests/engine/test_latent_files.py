"""Latent files (.npy, .npz, .json) to render states: every accepted layout, and a clear error for the rest."""
import json
import pickle
import re

import numpy as np
import pytest

from ganstudio.engine import RenderState
from ganstudio.engine.latent_files import LatentFileError, latent_states

BASE = RenderState(model="m", seed=3, class_weights={1: 1.0}, truncation_psi=0.7, edits=(("raw", 0, 1.0, None),),
                   mix_seeds=(4,), mix_sources=(0, 1, 1, 1))
STYLE = dict(z_dim=8, num_ws=4, w_dim=6, style=True)
PLAIN = dict(z_dim=8, num_ws=1, w_dim=8, style=False)


def _npy(tmp_path, a, name="a.npy"):
    p = tmp_path / name
    np.save(p, a)
    return p


def test_z_rows_keep_settings_but_drop_edits(tmp_path):
    a = np.random.default_rng(0).standard_normal((3, 8)).astype(np.float32)
    states = latent_states(_npy(tmp_path, a), BASE, **STYLE)
    assert len(states) == 3
    for s, row in zip(states, a):
        assert s.z == tuple(float(v) for v in row) and s.ws is None
        assert s.model == "m" and s.class_weights == ((1, 1.0),) and s.truncation_psi == 0.7
        assert s.edits == () and s.mix_sources is None and s.mix_seeds == ()
    one = latent_states(_npy(tmp_path, a[0], "one.npy"), BASE, **PLAIN)
    assert len(one) == 1 and one[0].z == states[0].z


def test_ws_layouts(tmp_path):
    rng = np.random.default_rng(1)
    ws = rng.standard_normal((4, 6)).astype(np.float32)  # what Gallery > Latents .npy writes
    [s] = latent_states(_npy(tmp_path, ws), BASE, **STYLE)
    assert np.array_equal(np.array(s.ws, np.float32), ws) and s.z is None
    assert s.truncation_psi == 1.0  # the file's ws are exact: no second truncation
    batch = rng.standard_normal((2, 4, 6)).astype(np.float32)
    assert len(latent_states(_npy(tmp_path, batch, "b.npy"), BASE, **STYLE)) == 2
    w = rng.standard_normal((2, 1, 6)).astype(np.float32)  # one w per sample, broadcast to every layer
    states = latent_states(_npy(tmp_path, w, "w.npy"), BASE, **STYLE)
    assert np.array_equal(np.array(states[1].ws, np.float32), np.repeat(w[1], 4, axis=0))
    # NVIDIA's projector: an .npz with w [1, num_ws, w_dim]
    np.savez(tmp_path / "projected_w.npz", w=batch[:1])
    [s] = latent_states(tmp_path / "projected_w.npz", BASE, **STYLE)
    assert np.array_equal(np.array(s.ws, np.float32), batch[0])
    # an .npz key says which space a 1-D vector is in
    np.savez(tmp_path / "w1.npz", w=ws[0])
    [s] = latent_states(tmp_path / "w1.npz", BASE, **STYLE)
    assert np.array(s.ws).shape == (4, 6)


def test_w_vectors_sized_w_dim_are_broadcast_to_every_layer(tmp_path):
    wide = dict(z_dim=8, num_ws=4, w_dim=6, style=True)  # w_dim differs from z_dim: no ambiguity
    w = np.arange(12, dtype=np.float32).reshape(2, 6)
    states = latent_states(_npy(tmp_path, w), BASE, **wide)
    assert len(states) == 2 and np.array_equal(np.array(states[1].ws), np.repeat(w[1:], 4, axis=0))
    [s] = latent_states(_npy(tmp_path, w[0], "one.npy"), BASE, **wide)
    assert np.array(s.ws).shape == (4, 6)
    # With z_dim == w_dim a bare vector is z unless an .npz key says w.
    same = dict(z_dim=6, num_ws=4, w_dim=6, style=True)
    [s] = latent_states(_npy(tmp_path, w[0], "z.npy"), BASE, **same)
    assert s.z is not None and s.ws is None


def test_json_layouts(tmp_path):
    exported = {"state": RenderState(model="elsewhere.safetensors", seed=9, truncation_psi=0.5).to_dict(),
                "z": [0.0] * 8, "ws": [[0.0] * 6] * 4}
    (tmp_path / "lat.json").write_text(json.dumps(exported))
    [s] = latent_states(tmp_path / "lat.json", BASE, **STYLE)
    assert s.seed == 9 and s.truncation_psi == 0.5 and s.model == "m"  # moved onto the open model
    (tmp_path / "list.json").write_text(json.dumps([[0.5] * 8, [0.25] * 8]))
    assert [s.z[0] for s in latent_states(tmp_path / "list.json", BASE, **PLAIN)] == [0.5, 0.25]


@pytest.mark.parametrize("make, message", [
    (lambda p: np.save(p / "x.npy", np.zeros((3, 5), np.float32)), "shape [3, 5] does not fit this model"),
    (lambda p: np.save(p / "x.npy", np.full((8,), np.nan, np.float32)), "NaN or infinite"),
    (lambda p: np.save(p / "x.npy", np.array(["a"] * 8)), "numeric"),
    (lambda p: np.save(p / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True), "pickled"),
    (lambda p: np.save(p / "x.npy", np.zeros((0, 8), np.float32)), "empty"),
    (lambda p: np.save(p / "x.npy", np.zeros((300, 8), np.float32)), "at most 256"),
    (lambda p: (p / "x.npy").write_bytes(b""), "the file is empty"),
    (lambda p: (p / "x.npy").write_bytes(np.lib.format.magic(1, 0) + b"\x10\x00{'descr': '<f4', 'fortran"),
     "corrupt"),
    (lambda p: (p / "x.npy").write_bytes(pickle.dumps([1.0] * 8)), "not a latent file"),
    (lambda p: (p / "x.npy").write_bytes(b"PK\x03\x04 not really a zip"), "corrupt"),
    (lambda p: (p / "x.npy").write_text("[[1, 2], [3]]"), "equal lengths"),
    (lambda p: (p / "x.npy").write_text('{"hello": 1}'), "needs a 'state'"),
    (lambda p: (p / "x.npy").write_text('{"state": {"bogus": 1}}'), "unknown render-state field"),
    (lambda p: (p / "x.npy").write_text('[1, 2, '), "not valid JSON"),
    (lambda p: np.savez(p / "x.npy", a=np.zeros(8), b=np.zeros(8)), "several arrays"),
    (lambda p: (p / "x.npy").mkdir(), "is a folder"),
])
def test_bad_files_get_a_clear_error(tmp_path, make, message):
    make(tmp_path)
    path = tmp_path / "x.npy"
    if not path.exists() and (tmp_path / "x.npy.npz").exists():  # np.savez appends .npz
        path = tmp_path / "x.npy.npz"
    with pytest.raises(LatentFileError, match=re.escape(message)) as e:
        latent_states(path, BASE, **STYLE)
    assert path.name in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(LatentFileError, match="no such file"):
        latent_states(tmp_path / "nope.npy", BASE, **STYLE)


def test_oversized_files_are_refused_before_loading(tmp_path, monkeypatch):
    import zipfile

    from ganstudio.engine import latent_files
    monkeypatch.setattr(latent_files, "MAX_BYTES", 4096)
    np.save(tmp_path / "big.npy", np.zeros((300, 8), np.float32))  # 9.7 KB on disk
    with pytest.raises(LatentFileError, match="too large"):
        latent_states(tmp_path / "big.npy", BASE, **STYLE)
    # A zip bomb: a tiny .npz whose member inflates past the limit is refused from its directory.
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("z.npy", np.lib.format.magic(1, 0) + b"\0" * 100_000)
    assert (tmp_path / "bomb.npz").stat().st_size < 4096
    with pytest.raises(LatentFileError, match="unpacks to"):
        latent_states(tmp_path / "bomb.npz", BASE, **STYLE)


def test_files_from_other_tools_get_the_right_answer(tmp_path):
    import torch
    # The PyTorch DCGAN example's fixed noise [N, nz, 1, 1] is z rows.
    a = np.random.default_rng(1).standard_normal((2, 8, 1, 1)).astype(np.float32)
    states = latent_states(_npy(tmp_path, a), BASE, **PLAIN)
    assert [s.z for s in states] == [tuple(float(v) for v in row[:, 0, 0]) for row in a]
    # rosinality's projector saves torch.save dicts: zip files too, but not an .npz to name arrays of.
    pt = tmp_path / "proj.pt"
    torch.save({"face.png": {"latent": torch.randn(8)}}, pt)
    with pytest.raises(LatentFileError, match="PyTorch file"):
        latent_states(pt, BASE, **PLAIN)


@pytest.mark.parametrize("doc", [[True, False] * 4, ["0.5"] * 8, [0.5] * 7 + ["x"]])
def test_json_latents_must_be_numbers(tmp_path, doc):
    p = tmp_path / "z.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(LatentFileError, match="numbers"):
        latent_states(p, BASE, **PLAIN)


def test_a_large_json_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    from ganstudio.engine import latent_files
    monkeypatch.setattr(latent_files, "MAX_JSON_BYTES", 100)  # parsing costs ~12x the text in memory
    p = tmp_path / "z.json"
    p.write_text(json.dumps([[0.123456] * 8] * 4))
    with pytest.raises(LatentFileError, match="too large for a latents .json"):
        latent_states(p, BASE, **PLAIN)


def test_an_npz_opened_as_a_checkpoint_says_what_it_is(tmp_path):
    from ganstudio.checkpoints import CheckpointError
    from ganstudio.checkpoints.importers import open_any
    p = tmp_path / "projected_w.npz"
    np.savez(p, w=np.zeros((1, 4, 6), np.float32))
    with pytest.raises(CheckpointError, match="NumPy archive"):
        open_any(p)
