"""The Project panel alone against the core: a short projection runs live, adds a bookmark, cancels."""
import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio.engine import Renderer
from ganstudio.gui.panels._context import standalone_context
from ganstudio.gui.panels.project import ProjectPanel


@pytest.fixture
def panel(qtbot, checkpoint, tmp_path):
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # see tests/engine/test_projection.py
    errors: list = []
    ctx = standalone_context(Renderer("cpu"), errors)
    p = ProjectPanel(ctx)
    qtbot.addWidget(p)
    p.show()

    def open_model(name, **kw):
        ctx.app.set_model(ctx.render.load(checkpoint(name, **kw)))
        assert p.supported and p.isEnabled()
    yield p, ctx, errors, open_model
    ctx.jobs.close()
    ctx.render.close()
    torch.set_num_threads(before)


def _image(tmp_path, mode="RGB"):
    path = tmp_path / f"target_{mode}.png"
    rng = np.random.RandomState(1)
    shape = (40, 24, 3) if mode == "RGB" else (40, 24)
    Image.fromarray((rng.rand(*shape) * 255).astype(np.uint8), mode).save(path)
    return str(path)


def test_a_short_projection_shows_progress_and_becomes_a_bookmark(qtbot, panel, tmp_path):
    p, ctx, errors, open_model = panel
    open_model("stylegan2")
    assert [p.space.itemText(i) for i in range(p.space.count())] == ["w+", "w", "z"]
    assert not p.run_btn.isEnabled()  # no image yet
    p.open_image(_image(tmp_path, "L"))  # grey, not square: converted, cropped and resized
    assert p.pixels.shape == (16, 16, 3) and p.run_btn.isEnabled()
    frames = []
    p._live.connect(lambda run, step, loss, image: frames.append(step))
    p.steps.setValue(6)
    before = ctx.app.state
    p.run_btn.click()
    qtbot.waitUntil(lambda: p.result is not None, timeout=60000)
    assert frames == [1, 2, 3, 4, 5, 6] and p.bar.value() == 100
    assert len(ctx.app.bookmarks) == 1
    mark = ctx.app.bookmarks[0]
    assert mark.state == ctx.app.state and mark.state.ws is not None and len(mark.state.ws) == ctx.app.info.num_ws
    assert "target_L.png (w+)" == mark.name and mark.thumbnail.shape == (16, 16, 3)
    assert p.thumbs.labels == ["target", "projection"] and "PSNR" in p.status.text()
    ctx.app.undo()  # one undoable edit; the bookmark stays
    assert ctx.app.state == before and len(ctx.app.bookmarks) == 1
    assert errors == []


def test_z_space_of_a_z_only_model(qtbot, panel, tmp_path):
    p, ctx, errors, open_model = panel
    open_model("dcgan")
    assert [p.space.itemText(i) for i in range(p.space.count())] == ["z"]
    p.open_image(_image(tmp_path))
    p.steps.setValue(3)
    p.run_btn.click()
    qtbot.waitUntil(lambda: p.result is not None, timeout=60000)
    assert ctx.app.state.z is not None and len(ctx.app.state.z) == ctx.app.info.z_dim
    assert len(ctx.app.bookmarks) == 1 and errors == []


def test_cancel_stops_early_and_bookmarks_nothing(qtbot, panel, tmp_path):
    p, ctx, errors, open_model = panel
    open_model("stylegan2")
    p.open_image(_image(tmp_path))
    p.steps.setValue(5000)
    steps = []

    def on_live(run, step, loss, image):
        steps.append(step)
        if step >= 2:
            p.cancel_btn.click()
    p._live.connect(on_live)
    p.run_btn.click()
    assert p.cancel_btn.isEnabled()
    qtbot.waitUntil(lambda: "Cancelled" in p.status.text(), timeout=60000)
    assert max(steps) < 5000 and ctx.app.bookmarks == () and p.result is None
    assert p.run_btn.isEnabled() and not p.cancel_btn.isEnabled() and errors == []


def test_an_unreadable_image_is_one_line(qtbot, panel, tmp_path):
    p, ctx, errors, open_model = panel
    open_model("stylegan2")
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    p.open_image(str(bad))
    assert p.pixels is None and not p.run_btn.isEnabled()
    assert errors == ["Project: could not read bad.png: not an image file that can be read"]


def test_encoder_start_checkbox(qtbot, panel, tmp_path):
    p, ctx, errors, open_model = panel
    open_model("stylegan2")  # a checkpoint with no encoder: the box is off and disabled
    assert not p.use_encoder.isEnabled() and not p.use_encoder.isChecked()
    ctx.app.set_model(ctx.render.load("fmnist-stylegan2"))  # ships an encoder
    assert p.use_encoder.isEnabled() and p.use_encoder.isChecked()
    from ganstudio.engine import RenderState
    drawn = ctx.render.render(RenderState(model="fmnist-stylegan2", seed=3, truncation_psi=0.7)).image
    path = tmp_path / "drawn.png"
    Image.fromarray(drawn[..., 0]).save(path)
    p.open_image(str(path))
    p.steps.setValue(2)
    for checked, words in ((True, "from the encoder start"), (False, "from the mean start")):
        p.use_encoder.setChecked(checked)
        p.result = None
        p.run_btn.click()
        qtbot.waitUntil(lambda: p.result is not None, timeout=60000)
        assert p.result.start == ("encoder" if checked else "mean") and words in p.status.text()
    assert errors == []
