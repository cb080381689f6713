"""Exports without Qt (engine/export.py) and `ganstudio export`: GIF, MP4 and PNG from session and latents files."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.cli import main
from ganstudio.commands.export import ProgressBar
from ganstudio.engine import Renderer, RenderState, export, save_session
from ganstudio.engine.interpolation import interpolation_states


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny StyleGAN2 checkpoint (noise visible, as in a trained model)."""
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator, get_spec
    torch.manual_seed(0)
    G = create_generator("stylegan2", **get_spec("stylegan2").tiny)
    with torch.no_grad():
        for layer in G.synthesis.noise_layers():
            layer.noise_strength.fill_(0.5)
    path = tmp_path_factory.mktemp("model") / "sg2.safetensors"
    save_checkpoint(path, G)
    return str(path)


@pytest.fixture(scope="module")
def renderer():
    return Renderer("cpu")


def _session(tmp_path, model, seeds=(1, 2, 5), **current):
    path = tmp_path / "walk-session.json"
    marks = [RenderState(model=model, seed=s).to_dict() for s in seeds]
    save_session(path, RenderState(model=model, seed=3, **current), {"bookmarks": marks})
    return path


def _gif_frames(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        frames = []
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(np.asarray(im.convert("RGB")))
    return frames


def _mp4_frames(path) -> np.ndarray:
    import imageio.v3 as iio
    return iio.imread(path, extension=".mp4")


def test_cli_writes_a_gif_and_an_mp4_from_a_session(tmp_path, model, renderer, capsys):
    session = _session(tmp_path, model, truncation_psi=0.7)
    gif, mp4 = tmp_path / "walk.gif", tmp_path / "walk.mp4"
    assert main(["export", str(session), "--out", str(gif), "--frames", "3", "--loop", "--device", "cpu"]) == 0
    assert main(["export", str(session), "--out", str(mp4), "--frames", "3", "--device", "cpu"]) == 0
    frames = _gif_frames(gif)
    assert len(frames) == 3 * 3  # a looping walk: three legs, the last back to the first stop
    stops = [RenderState(model=model, seed=s) for s in (1, 2, 5)]
    current = RenderState(model=model, seed=3, truncation_psi=0.7)
    states = interpolation_states(renderer, stops, 3, current, loop=True)
    # Each GIF frame is its interpolated state's image (the session's truncation applies on top).
    expected = [renderer.render(s).image for s in states]
    assert all(np.array_equal(f, e) for f, e in zip(frames, expected))
    assert not np.array_equal(frames[0], frames[1])
    video = _mp4_frames(mp4)
    assert video.shape == (2 * 3 + 1, 16, 16, 3)  # an open walk: two legs and the last stop
    open_walk = [renderer.render(s).image.astype(int) for s in interpolation_states(renderer, stops, 3, current,
                                                                                     loop=False)]
    # MP4 is lossy: each decoded frame is nearest to its own state's image, in order, ending on the last stop.
    nearest = [int(np.argmin([np.abs(f.astype(int) - e).mean() for e in open_walk])) for f in video]
    assert nearest == list(range(7))
    out = capsys.readouterr()
    assert "wrote" in out.out and "rendering walk.gif" in out.err  # the progress on stderr


def test_cli_writes_a_gif_and_an_mp4_from_a_latents_file(tmp_path, model, renderer):
    z = np.random.default_rng(0).standard_normal((2, 32)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    gif, mp4 = tmp_path / "z.gif", tmp_path / "z.mp4"
    for out in (gif, mp4):
        assert main(["export", str(tmp_path / "z.npy"), "--model", model, "--out", str(out), "--frames", "4",
                     "--scale", "2", "--loop"]) == 0
    frames = _gif_frames(gif)
    assert len(frames) == 2 * 4 and frames[0].shape == (32, 32, 3)
    first = renderer.render(RenderState(model=model, z=tuple(float(v) for v in z[0]))).image
    assert np.array_equal(frames[0], export.scaled(first, 2))
    assert _mp4_frames(mp4).shape == (8, 32, 32, 3)


def test_cli_png_is_the_stops_grid_or_the_one_image(tmp_path, model, renderer):
    session = _session(tmp_path, model)
    assert main(["export", str(session), "--out", str(tmp_path / "grid.png"), "--scale", "2"]) == 0
    grid = np.asarray(Image.open(tmp_path / "grid.png"))
    images = renderer.render_batch([RenderState(model=model, seed=s) for s in (1, 2, 5)]).image
    from ganstudio.imaging import make_grid
    assert np.array_equal(grid, export.scaled(make_grid(images), 2))
    bare = tmp_path / "bare.json"
    save_session(bare, RenderState(model=model, seed=9), {})
    assert main(["export", str(bare), "--out", str(tmp_path / "one.png"), "--scale", "3"]) == 0
    one = np.asarray(Image.open(tmp_path / "one.png"))
    assert np.array_equal(one, export.scaled(renderer.render(RenderState(model=model, seed=9)).image, 3))


@pytest.mark.parametrize("argv, message", [
    (["--out", "{t}/a.webm"], "end the name in .gif or .mp4"),
    (["--out", "{t}/a.gif", "--frames", "0"], "--frames must be"),
    (["--out", "{t}/a.gif", "--scale", "65"], "--scale must be"),
    (["--out", "{t}"], "is a folder"),
    (["--out", "{t}/a.gif", "--model", "no-such-model"], "no such checkpoint"),
])
def test_cli_bad_arguments_are_one_line_and_rc_2(tmp_path, model, capsys, argv, message):
    session = _session(tmp_path, model)
    rc = main(["export", str(session)] + [a.format(t=tmp_path) for a in argv])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "a.gif").exists() and not (tmp_path / "a.webm").exists()


def test_cli_bad_sources_are_one_line_and_leave_the_old_output(tmp_path, model, capsys):
    out = tmp_path / "walk.gif"
    out.write_bytes(b"an older export")
    (tmp_path / "broken.json").write_text("{not json")
    np.save(tmp_path / "wrong.npy", np.zeros((2, 7), np.float32))
    np.save(tmp_path / "one.npy", np.zeros((32,), np.float32))
    one_mark = _session(tmp_path, model, seeds=(4,))
    cases = [(tmp_path / "missing.json", "no such file"), (tmp_path / "broken.json", "not a session file"),
             (tmp_path / "wrong.npy", "does not fit this model"), (tmp_path / "one.npy", "at least two stops"),
             (one_mark, "at least two stops")]
    for source, message in cases:
        rc = main(["export", str(source), "--model", model, "--out", str(out)] if source.suffix == ".npy"
                  else ["export", str(source), "--out", str(out)])
        err = capsys.readouterr().err.strip()
        assert rc == 2 and message in err and len(err.splitlines()) == 1, (source.name, err)
    assert out.read_bytes() == b"an older export"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp file left


def test_a_render_error_or_an_oversized_export_writes_nothing(tmp_path, model, renderer):
    state = RenderState(model=model, seed=1)
    with pytest.raises(ValueError, match="too large for one image"):
        export.export_png(renderer, state, tmp_path / "huge.png", scale=2 ** 13)
    with pytest.raises(ValueError):
        export.export_png(renderer, RenderState(model=str(tmp_path / "nothing.safetensors")), tmp_path / "x.png")
    with pytest.raises(ValueError, match="at least two stops"):
        export.export_animation(renderer, [state], state, tmp_path / "x.gif")
    with pytest.raises(ValueError, match=".gif or .mp4"):
        export.export_animation(renderer, [state, state.replace(seed=2)], state, tmp_path / "x.avi")
    assert list(tmp_path.iterdir()) == []


def test_mp4_without_ffmpeg_is_a_clear_error(tmp_path, model, renderer, monkeypatch):
    monkeypatch.setattr(export, "has_ffmpeg", lambda: False)
    state = RenderState(model=model, seed=1)
    with pytest.raises(ValueError, match="imageio-ffmpeg"):
        export.export_animation(renderer, [state, state.replace(seed=2)], state, tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


def test_open_walk_ends_on_the_last_stop_and_a_loop_returns(model, renderer):
    stops = [RenderState(model=model, seed=s) for s in (1, 2, 3)]
    looped = interpolation_states(renderer, stops, 4, stops[0], loop=True)
    walk = interpolation_states(renderer, stops, 4, stops[0], loop=False)
    assert len(looped) == 12 and len(walk) == 9
    assert walk[:8] == looped[:8]
    z_last = renderer.latents(stops[-1])[0][0]
    assert torch.equal(torch.tensor(walk[-1].z, dtype=z_last.dtype), z_last)


def test_latents_export_round_trips(tmp_path, model, renderer):
    state = RenderState(model=model, seed=7, truncation_psi=0.5)
    export.export_latents(renderer, state, tmp_path / "lat.npy")
    export.export_latents(renderer, state, tmp_path / "lat.json")
    ws = renderer.latents(state)[2][0].numpy()
    assert np.array_equal(np.load(tmp_path / "lat.npy"), ws)
    import json
    doc = json.loads((tmp_path / "lat.json").read_text())
    assert RenderState.from_dict(doc["state"]) == state and np.allclose(doc["ws"], ws)


def test_progress_bar_on_a_log_prints_each_quarter_once():
    log = io.StringIO()
    bar = ProgressBar("rendering x.gif", log)
    for f in (0.1, 0.2, 0.3, 0.5, 0.55, 0.8, 1.0, 1.0):
        bar(f)
    assert log.getvalue().splitlines() == ["rendering x.gif: 30%", "rendering x.gif: 50%", "rendering x.gif: 80%",
                                           "rendering x.gif: 100%"]


def test_an_encoder_failure_is_one_error_and_no_file(tmp_path, monkeypatch):
    import imageio.v3 as iio

    def broken(*args, **kwargs):
        raise RuntimeError("ffmpeg returned exit status 1\n\nNo space left on device")
    monkeypatch.setattr(iio, "imwrite", broken)
    video = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="video encoder failed: No space left on device"):
        export.write_video(tmp_path / "x.mp4", video)
    assert list(tmp_path.iterdir()) == []
