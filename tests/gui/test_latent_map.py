"""Latent map panel: data encoded as a class-coloured scatter; a click or drag decodes the point through the core."""
import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt

from ganstudio.checkpoints import load_checkpoint
from ganstudio.engine import Renderer
from ganstudio.engine.latent_map import build_map
from ganstudio.gui.panels.latent_map import LatentMapPanel, class_colour
from ganstudio.gui.panels._context import standalone_context
from ganstudio.imaging import to_uint8


@pytest.fixture
def panel_for(qtbot, checkpoint):
    made = []

    def build(family, **overrides):
        ctx = standalone_context(Renderer("cpu"), errors := [])
        panel = LatentMapPanel(ctx)
        qtbot.addWidget(panel)
        panel.resize(420, 600)
        panel.show()
        path = checkpoint(family, **overrides)
        ctx.app.set_model(ctx.render.load(path))
        made.append(ctx)
        return panel, ctx, path, errors
    yield build
    for ctx in made:
        ctx.jobs.close()
        ctx.render.close()


def _image_folder(root, res, n_per_class=6):
    rng = np.random.default_rng(0)
    for k, name in enumerate(("dark", "light")):
        sub = root / name
        sub.mkdir(parents=True)
        for i in range(n_per_class):
            level = 40 if k == 0 else 215  # two clearly different classes
            px = np.clip(rng.normal(level, 10, (res, res)), 0, 255).astype(np.uint8)
            Image.fromarray(px).save(sub / f"{i}.png")
    return root


def _decoded(path, z):
    G = load_checkpoint(path).G.eval()
    with torch.no_grad():
        return to_uint8(G(torch.tensor([z], dtype=torch.float32)))[0]


def test_a_click_on_the_map_decodes_that_point_and_undo_returns(qtbot, panel_for):
    panel, ctx, path, errors = panel_for("aae")
    assert panel.supported and panel.map.projection == "code"
    before = ctx.app.state
    # A real left click on the plot, at map point (1.0, -0.5).
    scene = panel.view.mapViewToScene(QPointF(1.0, -0.5))
    pos = panel.plot.mapFromScene(scene)
    qtbot.mouseClick(panel.plot.viewport(), Qt.LeftButton, pos=QPoint(pos.x(), pos.y()))
    qtbot.waitUntil(lambda: ctx.app.state.z is not None)
    z = ctx.app.state.z
    assert z == pytest.approx((1.0, -0.5), abs=0.05)  # within a pixel of the click
    # The main image is the decoder's output at that z.
    res = ctx.render.renderer.render(ctx.app.state)
    assert np.array_equal(res.image, _decoded(path, z))
    ctx.app.undo()
    assert ctx.app.state == before and not errors


def test_a_drag_is_one_undo_step_and_the_image_follows(qtbot, panel_for):
    panel, ctx, path, _ = panel_for("aae")
    for x in (-1.0, -0.5, 0.0):
        panel.pick(x, 0.25, finished=False)
        assert ctx.app.state.z == (x, 0.25)
    panel.pick(0.5, 0.25, finished=True)
    assert ctx.app.state.z == (0.5, 0.25)
    assert panel.marker.data["x"].tolist() == [0.5]
    ctx.app.undo()
    assert ctx.app.state.z is None  # the whole drag was one step


def test_encoding_a_folder_draws_classes_and_pca_for_longer_codes(qtbot, panel_for, tmp_path):
    panel, ctx, path, errors = panel_for("vae")  # tiny VAE: a 4-D code, shown by PCA
    assert panel.map is None
    panel.pick(0.0, 0.0)  # nothing to map yet: no edit
    assert ctx.app.state.z is None
    folder = _image_folder(tmp_path / "data", res=8)
    panel.data_edit.setText(str(folder))
    panel.count.setValue(10)
    panel.encode_btn.click()
    qtbot.waitUntil(lambda: panel.map is not None, timeout=30000)
    m = panel.map
    assert m.projection == "pca" and len(m.points) == 10 and set(m.labels.tolist()) == {0, 1}
    assert m.class_names == ["dark", "light"] and "PC1" in m.axis_labels()[0] and "PCA" in panel.status.text()
    assert "dark" in panel.legend.text() and class_colour(1) in panel.legend.text()
    # A picked point decodes to the PCA plane, and the marker sits where the latent projects.
    panel.pick(0.3, -0.2)
    z = np.array(ctx.app.state.z)
    assert np.allclose(z, m.mean + 0.3 * m.basis[0] - 0.2 * m.basis[1], atol=1e-6)
    assert m.to_map(z) == pytest.approx((0.3, -0.2), abs=1e-6)
    res = ctx.render.renderer.render(ctx.app.state)
    assert np.array_equal(res.image, _decoded(path, ctx.app.state.z))
    assert not errors


def test_a_missing_data_set_is_one_clear_message(qtbot, panel_for, tmp_path):
    panel, ctx, _, errors = panel_for("aae")
    panel.data_edit.setText(str(tmp_path / "nowhere"))
    panel.encode_btn.click()
    qtbot.waitUntil(lambda: bool(errors), timeout=30000)
    assert "nowhere" in errors[0] and len(errors[0].splitlines()) == 1
    assert panel.map.projection == "code" and len(panel.map.points) == 0  # the empty 2-D map is kept


def test_panel_is_disabled_without_an_encoder(qtbot, panel_for):
    panel, _, _, _ = panel_for("dcgan")
    assert not panel.supported and "encoder" in panel.unsupported(panel.info)


def test_build_map_projections():
    codes = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
    m = build_map(codes, [0, 1, 0, 1])
    assert m.projection == "pca" and m.explained[0] == pytest.approx(0.8) and m.explained[1] == pytest.approx(0.2)
    for (x, y), c in zip(m.points, codes):  # each code lies in the plane: it maps back onto itself
        assert np.allclose(m.to_latent(x, y), c)
    m2 = build_map(np.array([[1.0, 2.0]]), [-1])
    assert m2.projection == "code" and m2.to_map((3.0, 4.0)) == (3.0, 4.0)
    with pytest.raises(ValueError, match="non-finite"):
        build_map(np.array([[np.nan, 0.0, 1.0]]), [0])


def test_an_encoder_that_returns_nan_is_reported_not_drawn(qtbot, panel_for, tmp_path):
    panel, ctx, path, errors = panel_for("vae")
    G = ctx.render.renderer.generator(path)
    with torch.no_grad():
        G.encoder.mu.bias.fill_(float("nan"))
    panel.data_edit.setText(str(_image_folder(tmp_path / "data", res=8)))
    panel.encode_btn.click()
    qtbot.waitUntil(lambda: bool(errors), timeout=30000)
    assert "non-finite" in errors[0] and panel.map is None
