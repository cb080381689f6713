"""The direction library file (latent.library) and InfoGAN code layout (latent.codes)."""
import json
import math

import pytest
import torch

from ganstudio.latent import codes
from ganstudio.latent.library import (MAX_DIRECTIONS, Library, LibraryError, ModelIdentity, UserDirection,
                                      check_model, load_library, save_library)

ID = ModelIdentity("m.safetensors", "stylegan2", 4, 3, 5, "sha256:abc")


def _lib(n=3):
    dirs = [UserDirection("wider", "w", (0.5, -1.25, 3.0), (1, 4)), UserDirection("z one", "z", (1.0, 0.0, 0.0, 2.5))]
    dirs += [UserDirection(f"d{i}", "w", (float(i), 0.1, -0.2)) for i in range(n - 2)]
    return Library(ID, tuple(dirs))


def test_round_trip_is_exact(tmp_path):
    lib = _lib(MAX_DIRECTIONS)
    lib = lib._replace(directions=lib.directions[:-1] + (UserDirection("tiny", "w", (1e-300, 1 / 3, -2 ** 0.5)),))
    save_library(tmp_path / "d.json", lib)
    back = load_library(tmp_path / "d.json", ID)
    assert back == lib
    assert not list(tmp_path.glob("*.tmp"))  # written atomically, no temp file left


def test_save_refuses_more_than_the_sliders(tmp_path):
    lib = _lib(MAX_DIRECTIONS + 1)
    with pytest.raises(LibraryError, match="at most 64"):
        save_library(tmp_path / "d.json", lib)
    assert not (tmp_path / "d.json").exists()


def _write(tmp_path, doc, raw=None):
    p = tmp_path / "lib.json"
    p.write_bytes(raw if raw is not None else json.dumps(doc).encode())
    return p


def _doc(**direction):
    d = {"name": "a", "space": "w", "vector": [0.0, 1.0, 2.0], "layers": None}
    d.update(direction)
    return {"format": "ganstudio-directions", "version": 1, "model": ID._asdict(), "directions": [d]}


@pytest.mark.parametrize("doc, raw, words", [
    (None, b"\xff\xfe\x00garbage", "not a text file"),
    (None, b"{\"format\": ", "not valid JSON"),
    (None, b"[" * 100000, "not valid JSON"),
    (None, b'{"format": "ganstudio-directions", "version": 1, "directions": [{"name": "a", "space": "z", '
           b'"vector": [NaN], "layers": null}]}', "not valid JSON"),
    ({"format": "other"}, None, "not a GAN Studio direction file"),
    ({"format": "ganstudio-directions", "version": 99, "directions": []}, None, "version 99"),
    ({"format": "ganstudio-directions", "version": 1, "directions": {}}, None, "must be a list"),
    (_doc(space="x"), None, "space must be"),
    (None, json.dumps(_doc()).replace("[0.0, 1.0, 2.0]", "[1e400, 0, 0]").encode(), "not a finite number"),
    (_doc(vector=["1", 0, 0]), None, "not a finite number"),
    (_doc(vector=[True, 0, 0]), None, "not a finite number"),
    (_doc(vector=[]), None, "list of 1-"),
    (_doc(vector=[0.0, 1.0]), None, "the model's w has 3"),
    (_doc(name=""), None, "the name must be"),
    (_doc(name="a\x00b"), None, "the name must be"),
    (_doc(name=["x"]), None, "the name must be"),
    (_doc(layers=[3, 2]), None, "is empty"),
    (_doc(layers=[0, 9]), None, "beyond the model's 5"),
    (_doc(layers=[0, "2"]), None, "layer number"),
    (_doc(layers=[-1, 2]), None, "layer number"),
    (_doc(space="z", vector=[0.0] * 4, layers=[0, 2]), None, "a z direction has no layer range"),
    (dict(_doc(), extra=1, directions=[{"name": "a", "space": "w", "vector": [0, 0, 0], "layers": None, "code": 1}]),
     None, "unknown field"),
    (dict(_doc(), model={"name": "m"}), None, "lacks"),
    (dict(_doc(), model=dict(ID._asdict(), z_dim=-3)), None, "z_dim"),
    (dict(_doc(), directions=[_doc()["directions"][0]] * (MAX_DIRECTIONS + 1)), None, "at most 64"),
])
def test_hostile_files_are_refused_with_one_line(tmp_path, doc, raw, words):
    p = _write(tmp_path, doc, raw)
    with pytest.raises(LibraryError) as e:
        load_library(p)
    msg = str(e.value)
    assert words in msg and "\n" not in msg and msg.startswith("lib.json")


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(LibraryError, match="no such file"):
        load_library(tmp_path / "nope.json")
    with pytest.raises(LibraryError, match="not a regular file"):
        load_library(tmp_path)


def test_a_file_for_another_model_is_refused(tmp_path):
    save_library(tmp_path / "d.json", _lib())
    other_weights = ID._replace(name="other.safetensors", fingerprint="sha256:def")
    with pytest.raises(LibraryError, match="is for the model 'm.safetensors'.*other weights.*not 'other"):
        load_library(tmp_path / "d.json", other_weights)
    other_dims = ID._replace(name="small", w_dim=8)
    with pytest.raises(LibraryError, match="w 3.*this one has z 4, w 8"):
        check_model(load_library(tmp_path / "d.json"), other_dims)
    check_model(load_library(tmp_path / "d.json"), ID)  # the same model: no error


def test_fingerprint_follows_the_file_bytes(tmp_path):
    from ganstudio.latent.library import fingerprint
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"weights one")
    b.write_bytes(b"weights two")
    assert fingerprint(str(a)) != fingerprint(str(b))
    assert fingerprint(str(a)) == fingerprint(str(a))
    assert fingerprint("registry:dcgan:tiny") != fingerprint("registry:dcgan")


# -- InfoGAN codes ---------------------------------------------------------------------------------

def test_codes_from_normal_follow_the_priors():
    layout = codes.CodeLayout(z_dim=8, categories=4, continuous=2)
    z = torch.randn(20000, 8, generator=torch.Generator().manual_seed(0))
    c = codes.codes_from_normal(z, layout)
    assert torch.equal(c[:, :2], z[:, :2])  # the noise is untouched
    onehot = c[:, 2:6]
    assert torch.equal(onehot.sum(1), torch.ones(20000)) and set(onehot.unique().tolist()) == {0.0, 1.0}
    freq = onehot.mean(0)
    assert torch.allclose(freq, torch.full((4,), 0.25), atol=0.02)  # uniform category
    cont = c[:, 6:]
    assert cont.min() >= -1 and cont.max() <= 1
    assert torch.allclose(cont.mean(0), torch.zeros(2), atol=0.02)
    assert torch.allclose(cont.var(0), torch.full((2,), 1 / 3), atol=0.02)  # variance of U(-1, 1)


def test_set_codes_changes_only_the_code_dims():
    layout = codes.CodeLayout(z_dim=7, categories=3, continuous=2)
    z = codes.codes_from_normal(torch.randn(1, 7), layout)
    out = codes.set_codes(z, layout, category=2, values={2: -0.75})
    assert torch.equal(out[0, :2], z[0, :2])
    assert out[0, 2:5].tolist() == [0.0, 0.0, 1.0]
    assert out[0, 5] == z[0, 5] and out[0, 6] == -0.75
    assert codes.read_codes(out[0], layout) == (2, [z[0, 5].item(), -0.75])
    with pytest.raises(ValueError, match="category 3 out of range"):
        codes.set_codes(z, layout, category=3)
    with pytest.raises(ValueError, match="continuous code 3 out of range"):
        codes.set_codes(z, layout, values={3: 0.0})
    assert math.isclose(layout.continuous_dim(1), 5)


def test_a_file_naming_no_model_must_still_fit_the_model(tmp_path):
    save_library(tmp_path / "d.json", Library(None, (UserDirection("a", "w", (1.0, 2.0, 3.0), (0, 2)),)))
    assert load_library(tmp_path / "d.json", ID).directions[0].name == "a"
    with pytest.raises(LibraryError, match="d.json: direction 1 \\(a\\): a w vector of 3 values, the model's w has 8"):
        load_library(tmp_path / "d.json", ID._replace(w_dim=8))
    with pytest.raises(LibraryError, match="beyond the model's 1 w layers"):
        load_library(tmp_path / "d.json", ID._replace(num_ws=1))
