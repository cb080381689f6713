"""The Qt-free engine: render never raises, batches equal singles, newest request wins, sessions round-trip."""
import json
import threading

import numpy as np
import pytest
import torch

from ganstudio.checkpoints import save_checkpoint
from ganstudio.engine import AsyncRenderer, Renderer, RenderState, load_session, pick_device, save_session
from ganstudio.models import create_generator, get_spec


@pytest.fixture(scope="module")
def renderer():
    return Renderer("cpu")


DC = "registry:dcgan:tiny"


def test_pick_device_cpu_and_errors():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(ValueError, match="unknown device"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA"):
            pick_device("cuda")


def test_render_matches_direct_generator(renderer):
    from ganstudio.latent import seeded_z
    res = renderer.render(RenderState(model=DC, seed=7))
    assert res.error == "" and res.image.dtype == np.uint8 and res.image.shape == (16, 16, 3)
    G = renderer.generator(DC)
    with torch.no_grad():
        ref = G(seeded_z([7], G.z_dim))
    from ganstudio.imaging import to_uint8
    assert np.array_equal(res.image, to_uint8(ref)[0])


def test_render_never_raises(renderer, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint at all")
    for state in [RenderState(model=str(bad)), RenderState(model="registry:nope"),
                  RenderState(model=DC, z=(0.0, 1.0)), RenderState(model=DC, edits=(("pca", 999, 1.0, None),)),
                  RenderState(model=DC, edits=(("warp", 0, 1.0, None),))]:
        res = renderer.render(state)
        assert res.image is None and res.error, state


def test_grid_is_one_batch_equal_to_singles(renderer):
    grid = renderer.render(RenderState(model=DC), seeds=[1, 2, 3])
    assert grid.image.shape == (3, 16, 16, 3)
    for i, s in enumerate([1, 2, 3]):
        single = renderer.render(RenderState(model=DC, seed=s)).image
        # BatchNorm in eval mode: per-sample results must not depend on the batch.
        assert np.abs(grid.image[i].astype(int) - single.astype(int)).max() <= 1


def test_raw_and_direction_edits_change_image(renderer):
    base = renderer.render(RenderState(model=DC, seed=1)).image
    for edit in [("raw", 0, 3.0, None), ("pca", 0, 3.0, None), ("sefa", 0, 3.0, None)]:
        res = renderer.render(RenderState(model=DC, seed=1, edits=(edit,)))
        assert res.error == "", res.error
        assert not np.array_equal(res.image, base), edit


def test_explicit_z_equals_seed(renderer):
    z, _, _ = renderer.latents(RenderState(model=DC, seed=5))
    a = renderer.render(RenderState(model=DC, seed=5)).image
    b = renderer.render(RenderState(model=DC, seed=0, z=tuple(z[0].tolist()))).image
    assert np.array_equal(a, b)


def test_checkpoint_model_and_session_roundtrip(renderer, tmp_path):
    torch.manual_seed(1)
    G = create_generator("dcgan", **get_spec("dcgan").tiny).eval()
    ck = tmp_path / "m.safetensors"
    save_checkpoint(ck, G)
    state = RenderState(model=str(ck), seed=11, edits=(("raw", 2, -1.5, None),))
    a = renderer.render(state)
    assert a.error == ""
    path = save_session(tmp_path / "s.json", state, {"zoom": 2})
    state2, extra = load_session(path)
    assert state2 == state and extra == {"zoom": 2}
    assert np.array_equal(renderer.render(state2).image, a.image)


@pytest.mark.parametrize("content", ["", "{", "[]", json.dumps({"format": "other"}),
                                     json.dumps({"format": "ganstudio-session", "state": {"bogus": 1}})])
def test_bad_session_file(tmp_path, content):
    p = tmp_path / "s.json"
    p.write_text(content)
    with pytest.raises(ValueError):
        load_session(p)


def test_state_json_roundtrip_exact():
    z = tuple(float(x) for x in torch.randn(8).tolist())
    s = RenderState(model=DC, z=z, class_weights={2: 0.25, 3: 0.75}, noise=[("fixed", 3, 0.5)],
                    edits=[("pca", 1, 0.1, (0, 2))], mix_seeds=[4], mix_sources=[0, 1])
    assert RenderState.from_dict(json.loads(json.dumps(s.to_dict()))) == s


class _HeldRenderer:
    """Counts concurrent renders; each waits for ``release`` (the test decides when renders may finish)."""

    def __init__(self):
        self.active = 0
        self.max_active = 0
        self.rendered = []
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.release = threading.Event()

    def render(self, state, seeds=None, **options):
        from ganstudio.engine import RenderResult
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        self.started.set()
        self.release.wait(60)
        with self.lock:
            self.active -= 1
        self.rendered.append(state.seed)
        return RenderResult(np.zeros((1, 1, 3), np.uint8), state=state)


def test_async_newest_wins_and_coalesces():
    held = _HeldRenderer()
    results = []
    ar = AsyncRenderer(held, results.append)
    ar.submit(RenderState(seed=0))
    assert held.started.wait(30)  # seed 0 is rendering (and held) while the other 499 requests arrive
    for i in range(1, 500):
        ar.submit(RenderState(seed=i))
        assert ar.in_flight <= 1 and ar.queued <= 1
    held.release.set()
    assert ar.wait_idle(30)
    ar.close()
    assert held.max_active == 1 and ar.max_in_flight == 1
    assert held.rendered == [0, 499]  # stale requests were dropped, not rendered; the newest came last
    assert results[-1].state.seed == 499
    assert ar.completed == 2 and ar.dropped == 498


def test_biggan_deep_truncation_reaches_batchnorm_statistics(renderer):
    # As the release samples: z = truncnorm(-2, 2) * t, and t picks the BatchNorm statistics.  (z was
    # N(0, 1) resampled into [-t, t]: std 0.23 at t = 0.4 where the release's statistics saw 0.35.)
    from ganstudio.latent import class_vector, truncated_z
    st = RenderState(model="registry:biggan-deep:tiny", seed=3, z_threshold=0.5)
    res = renderer.render(st)
    assert res.error == "", res.error
    G = renderer.generator(st.model)
    z = truncated_z([3], G.z_dim, 2.0) * 0.5
    assert torch.equal(renderer.latents(st)[0], z)
    with torch.no_grad():
        ref = G(z, class_vector(0, G.c_dim)[None], truncation_psi=0.5)
    from ganstudio.imaging import to_uint8
    assert np.array_equal(res.image, to_uint8(ref)[0])


def test_cached_seed_z_is_never_changed_by_edits_or_callers():
    # The renderer keeps the z of recent seeds; an edit, or a caller writing into latents()' z,
    # must not leak into a later render of the same seed.
    r = Renderer("cpu")
    before = r.render(RenderState(model=DC, seed=3)).image
    assert r.render(RenderState(model=DC, seed=3, edits=(("raw", 0, 5.0, None),))).error == ""
    z, _, _ = r.latents(RenderState(model=DC, seed=3))
    z.fill_(9.0)
    assert np.array_equal(r.render(RenderState(model=DC, seed=3)).image, before)
    for s in range(300):  # past the cache's size: old entries go, renders stay right
        r.render(RenderState(model=DC, seed=s))
    assert np.array_equal(r.render(RenderState(model=DC, seed=3)).image, before)
    assert np.array_equal(Renderer("cpu").render(RenderState(model=DC, seed=3)).image, before)


def test_to_uint8_matches_the_plain_torch_conversion():
    from ganstudio.imaging import to_uint8

    def reference(x):  # NaN -> 0, (x + 1) * 127.5, round half to even, clamp
        x = torch.nan_to_num(x.to(torch.float32), nan=0.0)
        return ((x + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    g = torch.Generator().manual_seed(0)
    steps = torch.arange(-300, 600, dtype=torch.float32) / 255 - 1  # every rounding boundary and beyond
    for dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        x = (torch.randn(2, 3, 7, 5, generator=g) * 1.5).to(dtype)
        flat = x.view(-1)
        flat[::7], flat[::11], flat[::13] = float("nan"), float("inf"), float("-inf")
        for img in (x, steps.to(dtype).view(1, 1, 30, 30)):
            out = to_uint8(img)
            assert out.dtype == np.uint8 and out.flags.c_contiguous
            assert np.array_equal(out, reference(img)), dtype


@pytest.mark.parametrize("name", ["biggan", "sagan"])
def test_spectral_norm_is_baked_and_renders_bit_identical(renderer, tmp_path, name):
    # The renderer bakes spectral norm's W / sigma into plain weights (an inference copy);
    # the image must equal the parametrized module's forward exactly.
    from torch.nn.utils import parametrize

    from ganstudio.imaging import to_uint8
    from ganstudio.latent import class_vector, seeded_z
    torch.manual_seed(2)
    G = create_generator(name, **get_spec(name).tiny).eval()
    assert any(parametrize.is_parametrized(m) for m in G.modules())
    with torch.no_grad():  # give the power-iteration vectors non-initial values, as training does
        G.train()
        for _ in range(3):
            G(seeded_z([0, 1], G.z_dim), class_vector(1, G.c_dim).repeat(2, 1))
        G.eval()
        ref = G(seeded_z([4], G.z_dim), class_vector(1, G.c_dim)[None])
    ck = save_checkpoint(tmp_path / f"{name}.safetensors", G)
    res = renderer.render(RenderState(model=str(ck), seed=4, class_weights={1: 1.0}))
    assert res.error == "", res.error
    assert not any(parametrize.is_parametrized(m) for m in renderer.generator(str(ck)).modules())
    assert np.array_equal(res.image, to_uint8(ref)[0])


def test_latents_hands_out_copies_of_cached_tensors():
    r = Renderer("cpu")
    st = RenderState(model="registry:cgan:tiny", seed=2, class_weights={1: 0.5, 2: 0.5})
    before = r.render(st).image
    for t in r.latents(st):
        t.fill_(7.0)
    assert np.array_equal(r.render(st).image, before)


def test_state_freezes_lists_dicts_and_arrays():
    import dataclasses

    from ganstudio.engine.state import _CONTAINER_FIELDS
    # Every field that can hold a container is frozen (a new field must be added to the list).
    assert set(_CONTAINER_FIELDS) == {f.name for f in dataclasses.fields(RenderState) if "tuple" in str(f.type)}
    s = RenderState(model=DC, z=np.arange(3, dtype=np.float32), ws=torch.zeros(2, 2), mix_seeds=[1, 2],
                    class_weights={"2": 1}, edits=[["raw", 0, 1.0, [0, 2]]])
    assert s.z == (0.0, 1.0, 2.0) and s.ws == ((0.0, 0.0), (0.0, 0.0)) and s.mix_seeds == (1, 2)
    assert s.class_weights == ((2, 1.0),) and s.edits == (("raw", 0, 1.0, (0, 2)),)
    assert hash(s) == hash(RenderState.from_dict(json.loads(json.dumps(s.to_dict()))))


SG = "registry:stylegan2:tiny"


@pytest.mark.parametrize("kw, message", [
    (dict(model=""), "no model given"),
    (dict(model=DC, z=(float("nan"),) * 8), "NaN or infinite"),
    (dict(model=DC, z=("a",) * 8), "list of numbers"),
    (dict(model=SG, ws=((0.0,) * 3, (0.0,))), "list of numbers per layer"),
    (dict(model=SG, truncation_psi=float("nan")), "truncation_psi must be a finite number"),
    (dict(model=SG, truncation_psi="0.5"), "truncation_psi must be a finite number"),
    (dict(model=SG, truncation_psi=0.5, truncation_cutoff=-2), "non-negative integer"),
    (dict(model=SG, noise_strength=float("inf")), "noise_strength must be a finite number"),
    (dict(model=DC, edits=(("raw", 0, float("nan"), None),)), "edit strength must be a finite number"),
    (dict(model=DC, edits=(("raw", "0", 1.0, None),)), "edit index must be an integer"),
    (dict(model=DC, edits=(("raw", 0),)), "an edit must be"),
])
def test_hostile_states_get_a_clear_error_not_a_grey_image(renderer, kw, message):
    # What a hand-edited or hostile session file can hold: an error naming the field, never a
    # silent NaN image or a negative index counted from the end.
    res = renderer.render(RenderState(**kw))
    assert res.image is None and message in res.error, res.error


def test_precision_is_fp32_on_cpu_unless_asked():
    info = Renderer("cpu").load(DC)
    assert info.precision == "fp32" and "GPU" in info.precision_note
    with pytest.raises(ValueError, match="unknown precision"):
        Renderer("cpu", precision="fp8")


@pytest.mark.parametrize("model", [SG, DC, "fmnist-biggan"])
def test_fp16_renders_close_to_fp32_and_hands_out_fp32_latents(model):
    # CPU has fp16 autocast too, so the GPU path's logic runs here (slowly).
    full, half = Renderer("cpu"), Renderer("cpu", precision="fp16")
    info = half.load(model)
    assert info.precision == "fp16" and "at most" in info.precision_note
    st = RenderState(model=model, seed=4, edits=(("pca", 0, 2.0, None),))
    a, b = full.render(st), half.render(st)
    assert a.error == "" and b.error == "", (a.error, b.error)
    assert np.abs(a.image.astype(int) - b.image.astype(int)).max() <= 16
    assert all(t is None or t.dtype == torch.float32 for t in half.latents(st))
    assert half.directions(model, "pca").dtype == torch.float32


def test_choose_precision_decides_from_the_probe(monkeypatch):
    from ganstudio.engine import renderer as R
    info = Renderer("cpu").load(DC)
    gpu = torch.device("cuda")
    monkeypatch.setattr(R, "_half_probe", lambda G, info, device: (2, 0.05))
    assert R.choose_precision(None, info, gpu)[0] == "fp16"
    monkeypatch.setattr(R, "_half_probe", lambda G, info, device: (9, 0.5))
    prec, note = R.choose_precision(None, info, gpu)
    assert prec == "fp32" and "would differ by 9 levels" in note
    assert R.choose_precision(None, info, gpu, "fp16")[0] == "fp16"  # asked for: thresholds do not apply
    monkeypatch.setattr(R, "_half_probe", lambda G, info, device: (-1, float("nan")))
    assert R.choose_precision(None, info, gpu, "fp16") == ("fp32", "fp32: fp16 gave NaN or infinite values on "
                                                                   "the probe images")

    def broken(G, info, device):
        raise RuntimeError("no half kernel for this op\nmore")
    monkeypatch.setattr(R, "_half_probe", broken)
    prec, note = R.choose_precision(None, info, gpu)
    assert prec == "fp32" and "no half kernel for this op" in note and "more" not in note


def test_half_probe_falls_back_on_nan():
    # Untrained tiny BigGAN's attention overflows in fp16: even when fp16 is asked for, the probe
    # sees the NaN and the model renders in fp32.
    info = Renderer("cpu", precision="fp16").load("registry:biggan:tiny")
    assert info.precision == "fp32" and "NaN" in info.precision_note


@pytest.mark.parametrize("name", ["dcgan", "cgan", "acgan", "sngan-projection", "biggan", "progan"])
def test_channels_last_on_cpu_stays_exact_enough(renderer, name):
    # Plain-conv families render from a channels-last copy on CPU (faster oneDNN kernels): the
    # images must match the module as the checkpoint builds it to within one level, nearly all exactly.
    from ganstudio.engine.renderer import load_model
    from ganstudio.imaging import to_uint8
    from ganstudio.latent import class_vector, seeded_z
    key = f"registry:{name}:tiny"
    G = renderer.generator(key)
    assert G.cpu_channels_last
    kernels = [p for p in G.parameters() if p.dim() == 4 and p.shape[2] > 1]
    assert kernels and all(p.is_contiguous(memory_format=torch.channels_last) for p in kernels)
    bare, info = load_model(key, torch.device("cpu"), prepare=False)
    seeds = list(range(16))
    c = None if not info.c_dim else class_vector(0, info.c_dim)[None].repeat(16, 1)
    with torch.no_grad():
        ref = to_uint8(bare(seeded_z(seeds, info.z_dim), c, noise_mode="const"))
    got = renderer.render(RenderState(model=key), seeds=seeds).image
    diff = np.abs(got.astype(int) - ref.astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99


def test_style_mixing_applies_to_an_explicit_ws(renderer):
    # An explicit ws (arithmetic, interpolation, a latent file) mixes like a seed's: every layer from
    # the mix seed is the mix seed's image (it used to be skipped on the ws path).
    info = renderer.load(SG)
    _, _, ws = renderer.latents(RenderState(model=SG, seed=3))
    explicit = RenderState(model=SG, ws=ws[0].tolist())
    assert np.array_equal(renderer.render(explicit).image, renderer.render(RenderState(model=SG, seed=3)).image)
    mixed = explicit.replace(mix_seeds=(9,), mix_sources=(1,) * info.num_ws)
    assert np.array_equal(renderer.render(mixed).image, renderer.render(RenderState(model=SG, seed=9)).image)


def test_raw_z_edits_apply_to_an_explicit_ws_of_a_model_without_mapping(renderer):
    # Without a mapping network w is z: a raw z edit means the same on either form.
    _, _, ws = renderer.latents(RenderState(model=DC, seed=4))
    edits = (("raw", 2, 1.5, None),)
    on_seed = renderer.render(RenderState(model=DC, seed=4, edits=edits)).image
    on_ws = renderer.render(RenderState(model=DC, ws=ws[0].tolist(), edits=edits)).image
    assert np.array_equal(on_seed, on_ws)
    assert not np.array_equal(on_ws, renderer.render(RenderState(model=DC, seed=4)).image)


def test_biggan_deep_takes_an_explicit_z_as_it_is(renderer):
    # Its truncation scales a drawn z and picks statistics; an explicit z (a file's, an edit's) is final.
    BD = "registry:biggan-deep:tiny"
    info = renderer.load(BD)
    z = tuple([1.7] + [0.1] * (info.z_dim - 1))
    assert torch.equal(renderer.latents(RenderState(model=BD, z=z, z_threshold=0.4))[0][0], torch.tensor(z))


def test_biggan_threshold_clips_an_explicit_z(renderer):
    # An explicit z has no seed to redraw outliers from: the threshold clips it instead of being ignored.
    BG = "registry:biggan:tiny"
    info = renderer.load(BG)
    z = [3.0, -3.0] + [0.1] * (info.z_dim - 2)
    clipped = [0.5, -0.5] + [0.1] * (info.z_dim - 2)
    a = renderer.render(RenderState(model=BG, z=z, z_threshold=0.5)).image
    assert np.array_equal(a, renderer.render(RenderState(model=BG, z=clipped)).image)
    assert not np.array_equal(a, renderer.render(RenderState(model=BG, z=z)).image)


@pytest.mark.parametrize("field, value", [("edits", None), ("class_weights", None), ("edits", 0),
                                          ("class_weights", 0), ("mix_seeds", None), ("z", 5), ("noise", "off")])
def test_hand_edited_session_with_a_wrongly_typed_container_is_one_clear_error(tmp_path, field, value):
    # A null "edits" escaped from_dict as TypeError: a traceback on the CLI, no dialog in the window.
    path = tmp_path / "s.json"
    save_session(path, RenderState(model=DC, seed=1))
    doc = json.loads(path.read_text())
    doc["state"][field] = value
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=field):
        load_session(path)


def test_blend_position_reads_the_weights_back_onto_the_from_to_t_controls():
    from ganstudio.engine.transforms import blend_classes, blend_position
    for a, b, t in ((0, 3, 0.0), (0, 3, 1.0), (0, 3, 0.25), (2, 1, 0.5)):
        assert blend_position(blend_classes(a, b, t), a, b)[:3] == (a, b, t)
    assert blend_position({}, 4, 5) == (0, 5, 0.0, 1)  # no weights: class 0
    assert blend_position({7: 1.0}, 0, 1) == (7, 1, 0.0, 1)
    assert blend_position({1: 1.0, 2: 3.0}, 0, 5) == (1, 2, 0.75, 2)
    assert blend_position({1: 1.0, 2: 3.0, 4: 1.0}, 0, 5) == (2, 1, 0.0, 3)
