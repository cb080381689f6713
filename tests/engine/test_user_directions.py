"""Rendering user (library) directions and InfoGAN code settings: what they change in the latents."""
import numpy as np
import pytest
import torch

from ganstudio.engine import Renderer, RenderState
from ganstudio.engine.state import Edit
from ganstudio.latent.library import UserDirection

INFOGAN = "registry:infogan:tiny"  # z = 8 noise + 10 categories + 2 continuous
STYLE = "registry:stylegan2:tiny"


@pytest.fixture(scope="module")
def renderer():
    return Renderer("cpu")


def test_a_seed_of_an_infogan_model_has_valid_codes(renderer):
    info = renderer.load(INFOGAN)
    assert info.code_sizes == (10, 2)
    for seed in range(5):
        z = renderer.latents(RenderState(model=INFOGAN, seed=seed))[0][0]
        cat, cont = z[8:18], z[18:]
        assert sorted(cat.tolist()) == [0.0] * 9 + [1.0]
        assert bool((cont.abs() <= 1).all())


def test_code_edits_change_the_code_dims_only(renderer):
    plain = RenderState(model=INFOGAN, seed=3)
    z0 = renderer.latents(plain)[0][0]
    edited = plain.replace(edits=(Edit("code", 0, 7.0), Edit("code", 2, -0.5)))
    z1 = renderer.latents(edited)[0][0]
    changed = torch.nonzero(z1 != z0).flatten().tolist()
    assert set(changed) <= set(range(8, 20))
    assert z1[8:18].argmax().item() == 7 and z1[8:18].sum().item() == 1.0
    assert z1[19].item() == -0.5 and z1[18] == z0[18]
    img0, img1 = renderer.render(plain), renderer.render(edited)
    assert not img0.error and not img1.error and not np.array_equal(img0.image, img1.image)
    blended = renderer.latents(plain.replace(edits=(Edit("code", 0, 6.6),)))[0][0]  # a timeline between 6 and 7
    assert blended[8:18].argmax().item() == 7 and blended[8:18].sum().item() == 1.0
    bad = renderer.render(plain.replace(edits=(Edit("code", 0, 10.0),)))
    assert "category 10 out of range" in bad.error
    bad = renderer.render(plain.replace(edits=(Edit("code", 3, 0.0),)))
    assert "continuous code 3 out of range" in bad.error


def test_a_z_user_direction_adds_its_vector_to_z(renderer):
    info = renderer.load(INFOGAN)
    v = tuple(float(i % 3) - 1.0 for i in range(info.z_dim))
    st = RenderState(model=INFOGAN, seed=1, user_directions=(UserDirection("mine", "z", v),))
    z0 = renderer.latents(st)[0][0]
    z1 = renderer.latents(st.replace(edits=(Edit("user", 0, 2.0),)))[0][0]
    assert torch.allclose(z1 - z0, 2.0 * torch.tensor(v))
    explicit = renderer.render(RenderState(model=INFOGAN, z=tuple((z0 + 2.0 * torch.tensor(v)).tolist())))
    assert np.array_equal(renderer.render(st.replace(edits=(Edit("user", 0, 2.0),))).image, explicit.image)


def test_a_w_user_direction_moves_only_its_layers(renderer):
    info = renderer.load(STYLE)
    v = tuple(np.linspace(-1, 1, info.w_dim).tolist())
    st = RenderState(model=STYLE, seed=2, user_directions=(UserDirection("w dir", "w", v, (1, 3)),))
    ws0 = renderer.latents(st)[2][0]
    ws1 = renderer.latents(st.replace(edits=(Edit("user", 0, 1.5, (1, 3)),)))[2][0]
    diff = ws1 - ws0
    assert torch.allclose(diff[1:3], 1.5 * torch.tensor(v, dtype=torch.float32).expand(2, -1), atol=1e-5)
    assert torch.equal(diff[0], torch.zeros(info.w_dim)) and torch.equal(diff[3:], torch.zeros_like(diff[3:]))


def test_a_user_direction_of_the_wrong_length_is_an_error_not_a_crash(renderer):
    st = RenderState(model=STYLE, seed=0, user_directions=(UserDirection("short", "w", (1.0, 2.0)),),
                     edits=(Edit("user", 0, 1.0),))
    res = renderer.render(st)
    assert res.image is None and "has 2 values" in res.error


def test_user_directions_survive_the_session_round_trip():
    st = RenderState(model=STYLE, seed=4, edits=(Edit("user", 1, 0.25, (0, 2)), Edit("code", 0, 3.0)),
                     user_directions=(UserDirection("a", "z", (0.5, 1 / 3)), UserDirection("b", "w", (1.0,), (0, 2))))
    back = RenderState.from_dict(st.to_dict())
    assert back == st and type(back.user_directions[0]) is UserDirection
    d = st.to_dict()
    d["edits"][0]["index"] = 5
    with pytest.raises(ValueError, match="user direction 5 out of range"):
        RenderState.from_dict(d)
    d = st.to_dict()
    d["user_directions"][1]["vector"] = ["x"]
    with pytest.raises(ValueError, match="not a finite number"):
        RenderState.from_dict(d)


# -- the library as state (engine.user_directions) ----------------------------------------------------

from ganstudio.engine import user_directions as ud  # noqa: E402
from ganstudio.latent.library import MAX_DIRECTIONS, LibraryError  # noqa: E402


def _state_with(n):
    dirs = tuple(UserDirection(f"d{i}", "z", (float(i), 1.0)) for i in range(n))
    return RenderState(model="m", user_directions=dirs)


def test_remove_renumbers_the_later_edits_and_drops_its_own():
    st = _state_with(3).replace(edits=(Edit("user", 0, 1.0), Edit("user", 1, 2.0), Edit("user", 2, 3.0),
                                       Edit("raw", 1, 0.5)))
    out = ud.remove_direction(st, 1)
    assert [d.name for d in out.user_directions] == ["d0", "d2"]
    assert out.edits == (Edit("user", 0, 1.0), Edit("user", 1, 3.0), Edit("raw", 1, 0.5))


def test_add_rename_replace_and_the_limit():
    st = ud.add_direction(_state_with(0), UserDirection("a", "z", (1.0, 0.0)))
    st = ud.rename_direction(st, 0, "  new name ")
    assert st.user_directions[0].name == "new name"
    with pytest.raises(LibraryError, match="name"):
        ud.rename_direction(st, 0, "")
    assert ud.unique_name(st, "new name") == "new name (2)"
    full = _state_with(MAX_DIRECTIONS)
    with pytest.raises(LibraryError, match="delete one first"):
        ud.add_direction(full, UserDirection("x", "z", (1.0, 0.0)))
    replaced = ud.replace_library(st.replace(edits=(Edit("user", 0, 1.0), Edit("code", 0, 2.0))),
                                  [UserDirection("b", "w", (1.0,))])
    assert [d.name for d in replaced.user_directions] == ["b"] and replaced.edits == (Edit("code", 0, 2.0),)


def test_the_current_edit_saved_as_a_direction_replays_it(renderer):
    info = renderer.load(STYLE)
    st = RenderState(model=STYLE, seed=5, edits=(Edit("w", 3, 1.5, (2, 4)), Edit("w", 1, -0.5, (2, 4))))
    d = ud.direction_from_edit(renderer, st, info, "mine")
    assert d.space == "w" and d.layers == (2, 4)
    replay = ud.add_direction(ud.plain_seed(st), d)
    replay = replay.replace(edits=ud.user_edit(replay, 0, 1.0))
    a, b = renderer.latents(st)[2], renderer.latents(replay)[2]
    assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="plain seed"):
        ud.direction_from_edit(renderer, ud.plain_seed(st), info)


def test_the_current_code_edit_saved_as_a_direction_is_in_z(renderer):
    info = renderer.load(INFOGAN)
    st = RenderState(model=INFOGAN, seed=5, edits=(Edit("code", 1, 0.9),))
    d = ud.direction_from_edit(renderer, st, info, "code edit")
    assert d.space == "z" and d.layers is None
    nonzero = [i for i, v in enumerate(d.vector) if v]
    assert nonzero == [18]


def test_a_source_direction_becomes_a_library_entry(renderer):
    info = renderer.load(STYLE)
    st = RenderState(model=STYLE, seed=0)
    d = ud.direction_from_source(renderer, st, info, "pca", 2, (0, 2))
    assert d.space == "w" and d.layers == (0, 2) and d.name == "PCA #2"
    assert torch.allclose(torch.tensor(d.vector), renderer.directions(STYLE, "pca")[2])
    z = ud.direction_from_source(renderer, st, info, "raw", 5)
    assert z.space == "z" and z.vector[5] == 1.0 and sum(z.vector) == 1.0
    info_g = renderer.load(INFOGAN)
    c = ud.direction_from_source(renderer, RenderState(model=INFOGAN), info_g, "code", 2)
    assert c.vector[19] == 1.0 and c.name == "code 2"


def test_edits_are_described_with_the_category_by_name():
    from ganstudio.engine.transforms import describe_edits
    st = RenderState(model="m", edits=(Edit("code", 0, 7.0), Edit("code", 1, 1.5), Edit("user", 0, -1.0)),
                     user_directions=(UserDirection("a", "z", (1.0,)),))
    assert describe_edits(st) == "category 7, code 1 +1.5, library 0 -1.0"


def test_the_blend_pad_corner_of_an_infogan_seed_is_that_seed(renderer):
    from ganstudio.engine.transforms import pad_z
    info = renderer.load(INFOGAN)
    st = RenderState(model=INFOGAN)
    corner = pad_z(st, info, [5, 6, 7, 8], 0.0, 0.0)
    seed_z = renderer.latents(st.replace(seed=5))[0][0].numpy()
    assert np.allclose(corner, seed_z, atol=1e-6)
