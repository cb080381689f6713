"""The Direction analysis panel: gating, the heat map equals the engine's report, cancel, a direction file."""
import numpy as np
import pytest

from ganstudio.engine import Renderer
from ganstudio.engine import analysis as an
from ganstudio.gui.panels.analysis import FILE_ITEM, AnalysisPanel


@pytest.fixture(scope="module")
def renderer():
    return Renderer("cpu")


@pytest.fixture
def panel(panel_alone, renderer):
    return lambda key="shapes-dcgan": panel_alone(AnalysisPanel, key, renderer)


def test_a_model_not_trained_on_shapes_is_refused_with_a_reason(panel, checkpoint):
    p, ctx, _ = panel(checkpoint("stylegan2"))
    assert not p.supported and not p.isEnabled()
    assert "shapes" in p.unsupported(ctx.app.info)


def test_the_heat_map_shows_the_engines_numbers(qtbot, panel, renderer):
    from ganstudio.training.factor_probe import load_probe
    p, ctx, errors = panel()
    assert [p.method.itemData(i) for i in range(p.method.count())] == ["pca", "sefa", "raw", FILE_ITEM]
    p.method.setCurrentIndex(p.method.findData("sefa"))
    p.seeds.setValue(2)
    p.first_seed.setValue(3)
    p.run_btn.click()
    qtbot.waitUntil(lambda: p.report is not None, timeout=60000)
    source = an.RendererSource(renderer, "shapes-dcgan", renderer.load("shapes-dcgan"))
    want = an.analyze(source, an.direction_set(source, "sefa"), load_probe(), {"method": "sefa"}, seeds=2, seed=3)
    np.testing.assert_allclose(p.report["response"], want["response"], rtol=1e-6, atol=1e-9)
    R = np.asarray(want["response"])
    assert p.table.item(2, 1).text() == f"{R[2, 1]:.3f}"
    assert p.table.horizontalHeaderItem(0).text() == "shape" and p.table.horizontalHeaderItem(1).text() == "obj hue"
    assert p.bar.value() == 100
    assert f"{want['overall']['score']:.3f}" in p.summary.text() and errors == []


def test_cancel_stops_the_job_and_keeps_the_panel_usable(qtbot, panel):
    p, ctx, _ = panel()
    p.method.setCurrentIndex(p.method.findData("raw"))
    p.seeds.setValue(2000)
    p.run_btn.click()
    assert p.cancel_btn.isEnabled()
    p.cancel_btn.click()
    qtbot.waitUntil(lambda: "Cancelled" in p.status.text(), timeout=60000)
    assert p.report is None and p.run_btn.isEnabled() and not p.cancel_btn.isEnabled()


def test_a_direction_file_is_scored_and_its_sweep_applies_explicit_latents(qtbot, panel, tmp_path):
    from ganstudio.latent.library import Library, UserDirection, model_identity, save_library
    p, ctx, errors = panel()
    info = ctx.app.info
    lib = Library(model_identity(info.key, info), (UserDirection("mine", "z", tuple(np.eye(info.z_dim)[4])),))
    path = tmp_path / "mine.json"
    save_library(path, lib)
    p.method.setCurrentIndex(p.method.findData(FILE_ITEM))
    p.seeds.setValue(2)
    p.start(str(path))
    qtbot.waitUntil(lambda: p.report is not None, timeout=60000)
    assert p.table.rowCount() == 1 and p.table.verticalHeaderItem(0).text() == "mine"
    p.table.cellClicked.emit(0, 1)
    qtbot.waitUntil(lambda: len(p._strip_states) == 7, timeout=30000)
    seed_z = ctx.render.latents(ctx.app.state)[0][0].numpy()
    p.strip.clicked.emit(6)  # +span along z4
    z = np.asarray(ctx.app.state.z)
    np.testing.assert_allclose(z - seed_z, 2.0 * np.eye(info.z_dim)[4], atol=1e-5)
    ctx.app.undo()
    assert ctx.app.state.z is None and errors == []
