"""The timeline without Qt (engine/timeline.py) and `ganstudio export TIMELINE.json`."""
import json
import math

import numpy as np
import pytest
import torch

from ganstudio.cli import main
from ganstudio.engine import Renderer, RenderState, export
from ganstudio.engine.state import Edit
from ganstudio.engine.timeline import (Drift, Key, LoopWalk, Timeline, TimelineError, ease, from_dict, load_timeline,
                                       save_timeline, to_dict)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator("stylegan2", **get_spec("stylegan2").tiny)
    path = tmp_path_factory.mktemp("model") / "sg2.safetensors"
    save_checkpoint(path, G)
    return str(path)


@pytest.fixture(scope="module")
def renderer(model):
    r = Renderer("cpu")
    r.load(model)
    return r


def _z(renderer, seed, model):
    return renderer.latents(RenderState(model=model, seed=seed))[0][0].double()


def _keys(model, seeds=(1, 2, 3), frames=4, **kw):
    return tuple(Key(RenderState(model=model, seed=s), frames, **kw) for s in seeds)


def _zs(states):
    return torch.tensor([s.z for s in states], dtype=torch.float64)


def test_a_looping_timeline_passes_every_key_and_ends_one_frame_before_the_first(renderer, model):
    tl = Timeline(_keys(model, frames=4), loop=True)
    states = list(tl.frames(renderer))
    assert len(states) == tl.frame_count() == 12
    zs = _zs(states)
    for i, seed in enumerate((1, 2, 3)):
        assert torch.allclose(zs[4 * i], _z(renderer, seed, model), atol=1e-6)  # each segment starts on its key
    assert not torch.allclose(zs[-1], zs[0], atol=1e-3)  # the loop's last frame is not the first repeated
    open_tl = Timeline(_keys(model, frames=4), loop=False)
    opened = list(open_tl.frames(renderer))
    assert len(opened) == open_tl.frame_count() == 9
    assert torch.allclose(_zs(opened[-1:])[0], _z(renderer, 3, model), atol=1e-6)  # ends on the last key


def test_easing_and_path_per_segment(renderer, model):
    assert ease("ease-in-out", 0.5) == pytest.approx(0.5) and ease("ease-in-out", 0.1) < 0.1
    assert ease("ease-in", 0.5) < 0.5 < ease("ease-out", 0.5) and ease("hold", 0.99) == 0
    with pytest.raises(TimelineError, match="unknown easing"):
        ease("bounce", 0.5)
    lin = _zs(list(Timeline(_keys(model, (1, 2), 8), loop=False).frames(renderer)))
    eased = _zs(list(Timeline(_keys(model, (1, 2), 8, easing="ease-in-out"), loop=False).frames(renderer)))
    step = lambda zs, i: float((zs[i + 1] - zs[i]).norm())  # noqa: E731
    assert step(eased, 0) < step(lin, 0) and step(eased, 3) > step(lin, 3)  # slow start, fast middle
    lerped = _zs(list(Timeline(_keys(model, (1, 2), 8, interp="lerp"), loop=False).frames(renderer)))
    mid_norms = float(lerped[4].norm()), float(lin[4].norm())
    assert mid_norms[0] < mid_norms[1] - 1e-3  # lerp cuts through the sphere, slerp keeps the norm
    assert torch.allclose(lerped[0], lin[0]) and torch.allclose(lerped[-1], lin[-1], atol=1e-6)


def test_w_plus_keys_move_layer_by_layer(renderer, model):
    ws_a = renderer.latents(RenderState(model=model, seed=1))[2][0]
    ws_b = renderer.latents(RenderState(model=model, seed=2))[2][0].clone()
    ws_b[0] = ws_a[0]  # layer 0 is the same in both keys: it must not move
    keys = (Key(RenderState(model=model, ws=ws_a.tolist()), 4), Key(RenderState(model=model, ws=ws_b.tolist()), 4))
    states = list(Timeline(keys, loop=False).frames(renderer))
    ws = torch.tensor([s.ws for s in states])
    assert ws.shape[1:] == ws_a.shape and all(s.z is None for s in states)
    assert torch.allclose(ws[:, 0], ws_a[0].expand_as(ws[:, 0]), atol=1e-5)
    assert not torch.allclose(ws[2, 1], ws_a[1], atol=1e-3)


def test_classes_truncation_and_edits_blend_between_keys(renderer, model):
    a = RenderState(model=model, seed=1, truncation_psi=1.0, edits=(Edit("pca", 0, 2.0),))
    b = RenderState(model=model, seed=2, truncation_psi=0.5, edits=(Edit("w", 3, 1.0),))
    states = list(Timeline((Key(a, 4), Key(b, 4)), loop=False).frames(renderer))
    assert states[0].truncation_psi == 1.0 and states[0].edits == a.edits
    assert states[2].truncation_psi == pytest.approx(0.75)
    assert dict(((e.method, e.index), e.alpha) for e in states[2].edits) == {("pca", 0): 1.0, ("w", 3): 0.5}
    assert states[-1].truncation_psi == 0.5 and states[-1].edits == b.edits


def test_seed_drift_stays_on_the_sphere_is_seeded_and_closes_the_loop(renderer, model):
    keys = _keys(model, (1, 2), 6)
    plain = _zs(list(Timeline(keys).frames(renderer)))
    drift = _zs(list(Timeline(keys, drift=Drift(0.3, 7)).frames(renderer)))
    again = _zs(list(Timeline(keys, drift=Drift(0.3, 7)).frames(renderer)))
    other = _zs(list(Timeline(keys, drift=Drift(0.3, 8)).frames(renderer)))
    assert torch.equal(drift, again) and not torch.allclose(drift, other)
    assert torch.allclose(drift.norm(dim=1), plain.norm(dim=1), atol=1e-4)  # on the sphere: norms kept
    angles = torch.arccos((drift * plain).sum(1) / (drift.norm(dim=1) * plain.norm(dim=1))).clamp(0, 1)
    assert float(angles.max()) <= 0.3 + 1e-4 and float(angles.min()) > 0  # around the keys, at most 0.3 rad away
    steps = (drift - drift.roll(-1, 0)).norm(dim=1)  # the last row's "step" is last -> first
    assert float(steps[-1]) <= float(steps[:-1].max())


def test_a_loop_walk_is_a_closed_circle_on_the_sphere_through_the_first_key(renderer, model):
    tl = Timeline(_keys(model, (5,)), walk=LoopWalk(16, 3))
    zs = _zs(list(tl.frames(renderer)))
    z0 = _z(renderer, 5, model)
    assert len(zs) == 16 and torch.allclose(zs[0], z0, atol=1e-6)
    assert torch.allclose(zs.norm(dim=1), z0.norm().expand(16), atol=1e-4)
    steps = (zs - zs.roll(-1, 0)).norm(dim=1)
    assert torch.allclose(steps, steps[0].expand(16), atol=1e-4)  # even steps, the last one back to the first
    assert torch.allclose(zs[8], -z0, atol=1e-5)  # half way round: the opposite point of the circle
    assert not torch.allclose(zs, _zs(list(Timeline(_keys(model, (5,)), walk=LoopWalk(16, 4)).frames(renderer))))


def test_save_and_load_round_trip_atomically(tmp_path, model):
    tl = Timeline(_keys(model, (1, 2), 5, easing="ease-out", interp="lerp"), fps=12, loop=False,
                  drift=Drift(0.25, 4), walk=LoopWalk(0, 9))
    path = tmp_path / "t.json"
    save_timeline(path, tl)
    assert load_timeline(path) == tl and [p.name for p in tmp_path.iterdir()] == ["t.json"]
    assert json.loads(path.read_text())["version"] == 1


@pytest.mark.parametrize("doc, message", [
    ("{", "not a readable timeline file"),
    ('{"format": "something-else"}', "not a timeline file"),
    ('{"format": "ganstudio-timeline", "version": 99}', "version 99 is not supported"),
    ('{"format": "ganstudio-timeline", "version": 1, "fps": 0}', "fps must be an integer"),
    ('{"format": "ganstudio-timeline", "version": 1, "keys": [{"state": {"seed": "x"}}]}', "key 1:"),
    ('{"format": "ganstudio-timeline", "version": 1, "keys": [{"state": {}, "easing": "bounce"}]}',
     "unknown easing"),
    ('{"format": "ganstudio-timeline", "version": 1, "keys": [{"state": {}, "frames": 1e9}]}', "frames must be"),
    ('{"format": "ganstudio-timeline", "version": 1, "drift": {"amount": 9}}', "drift amount"),
    ('{"format": "ganstudio-timeline", "version": 1, "keys": [{"state": {}, "frames": 100000}, '
     '{"state": {}, "frames": 100000}]}', "200000 frames: at most"),
])
def test_bad_timeline_files_are_one_line_errors(tmp_path, doc, message):
    path = tmp_path / "bad.json"
    path.write_text(doc)
    with pytest.raises(TimelineError, match=message) as e:
        load_timeline(path)
    assert "\n" not in str(e.value) and str(e.value).startswith("bad.json: ")


def test_absurd_sizes_are_refused_before_reading(tmp_path, monkeypatch):
    import ganstudio.engine.timeline as timeline
    path = tmp_path / "big.json"
    path.write_text(json.dumps(to_dict(Timeline())) + " " * 2000)
    monkeypatch.setattr(timeline, "MAX_FILE_BYTES", 1000)
    with pytest.raises(TimelineError, match="more than a timeline can be"):
        load_timeline(path)
    with pytest.raises(TimelineError, match="keys: at most"):
        from_dict({**to_dict(Timeline()), "keys": [{"state": {}}] * 1001})


def _mean_diffs(frames: np.ndarray) -> tuple[np.ndarray, float]:
    f = frames.astype(np.float64)
    consecutive = np.abs(f[1:] - f[:-1]).mean(axis=(1, 2, 3))
    return consecutive, float(np.abs(f[0] - f[-1]).mean())


def test_a_looping_timeline_mp4_joins_seamlessly_from_the_command_line(tmp_path, model):
    """The bound: the mean absolute pixel difference between the last and the first decoded frame is no
    larger than the largest between consecutive frames.  The same keys without loop jump at the seam."""
    import imageio.v3 as iio
    keys = _keys(model, (1, 2, 3), 6, easing="ease-in-out")
    for loop in (True, False):
        path = tmp_path / f"t{loop}.json"
        save_timeline(path, Timeline(keys, loop=loop, drift=Drift(0.1, 1)))
        out = tmp_path / f"t{loop}.mp4"
        assert main(["export", str(path), "--out", str(out), "--scale", "2", "--device", "cpu"]) == 0
        frames = iio.imread(out, extension=".mp4")
        consecutive, seam = _mean_diffs(frames)
        assert len(frames) == (18 if loop else 13)
        assert (seam <= consecutive.max()) == loop, (seam, consecutive.max())


def test_the_command_line_writes_gif_and_png_frames_as_the_engine_does(tmp_path, model, renderer):
    tl = Timeline(_keys(model, (1, 2), 3), fps=10)
    path = tmp_path / "t.json"
    save_timeline(path, tl)
    assert main(["export", str(path), "--out", str(tmp_path / "cli.gif"), "--device", "cpu"]) == 0
    export.export_states(renderer, list(tl.frames(renderer)), tmp_path / "api.gif", fps=10)
    assert (tmp_path / "cli.gif").read_bytes() == (tmp_path / "api.gif").read_bytes()
    assert main(["export", str(path), "--out", str(tmp_path / "frames"), "--scale", "3", "--device", "cpu"]) == 0
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == [f"frame_{i:05d}.png" for i in range(6)]
    from PIL import Image
    h, w = renderer.render(list(tl.frames(renderer))[0]).image.shape[:2]
    assert Image.open(tmp_path / "frames" / names[0]).size == (w * 3, h * 3)
    assert main(["export", str(path), "--out", str(tmp_path / "frames"), "--device", "cpu"]) == 2  # not empty


def test_bad_timelines_and_outputs_on_the_command_line(tmp_path, model, capsys):
    path = tmp_path / "t.json"
    save_timeline(path, Timeline(_keys(model, (1,), 3)))
    assert main(["export", str(path), "--out", str(tmp_path / "x.mp4"), "--device", "cpu"]) == 2
    assert "at least two keys" in capsys.readouterr().err
    assert main(["export", str(path), "--out", str(tmp_path / "x.avi"), "--device", "cpu"]) == 2
    assert ".gif or .mp4" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "ganstudio-timeline", "version": 7}')
    assert main(["export", str(bad), "--out", str(tmp_path / "x.mp4")]) == 2
    err = capsys.readouterr().err.strip()
    assert "version 7 is not supported" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "t.json"]


@pytest.mark.parametrize("out", ["x.mp4", "frames"])
def test_ctrl_c_during_an_export_leaves_no_partial_file(tmp_path, model, monkeypatch, out):
    path = tmp_path / "t.json"
    save_timeline(path, Timeline(_keys(model, (1, 2), 12)))
    real = Renderer.render_batch
    calls = []

    def interrupted(self, states, *a, **kw):
        calls.append(len(states))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, states, *a, **kw)
    monkeypatch.setattr(Renderer, "render_batch", interrupted)
    assert main(["export", str(path), "--out", str(tmp_path / out), "--device", "cpu"]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


def test_ease_in_out_is_cosine():
    for t in (0.0, 0.25, 0.5, 1.0):
        assert ease("ease-in-out", t) == pytest.approx((1 - math.cos(math.pi * t)) / 2)
