"""The code-map panel on a tiny VQ-VAE: set a cell's code, resample a region, watch and cancel a sample, undo."""
import numpy as np
import pytest

from ganstudio.engine import Renderer
from ganstudio.engine.code_map import Region, codes_from_ws
from ganstudio.gui.panels._context import standalone_context
from ganstudio.gui.panels.code_map import CodeMapPanel


@pytest.fixture
def panel(qtbot, checkpoint):
    errors: list = []
    ctx = standalone_context(Renderer("cpu"), errors)
    p = CodeMapPanel(ctx)
    qtbot.addWidget(p)
    p.resize(420, 760)
    p.show()
    ctx.app.set_model(ctx.render.load(checkpoint("vqvae")))
    assert p.supported, p.unsupported(ctx.app.info)
    qtbot.waitUntil(lambda: p.palette.count() == p.info.capabilities.codebook_size and p.codes is not None,
                    timeout=30000)
    yield p, ctx, errors
    ctx.jobs.close()
    ctx.render.close()


def _codes(ctx):
    _, _, ws = ctx.render.latents(ctx.app.state)
    return codes_from_ws(ws[0], ctx.app.info.capabilities.code_grid[0], ctx.app.info.capabilities.codebook_size)


def _image(ctx):
    res = ctx.render.renderer.render(ctx.app.state)
    assert res.error == ""
    return res.image


def test_the_grid_shows_the_current_images_codes(panel):
    p, ctx, _ = panel
    assert np.array_equal(p.codes, _codes(ctx))
    assert np.array_equal(p.grid_view.codes, p.codes)


def test_setting_a_code_changes_the_image_and_undo_restores_it(qtbot, panel):
    p, ctx, errors = panel
    before_state, before_image, before = ctx.app.state, _image(ctx), p.codes.copy()
    p.grid_view.select(Region(0, 0, 0, 0))
    code = (int(before[0, 0]) + 1) % ctx.app.info.capabilities.codebook_size
    p.palette.clicked.emit(code)
    after = _codes(ctx)
    assert after[0, 0] == code
    assert np.array_equal(np.delete(after.ravel(), 0), np.delete(before.ravel(), 0))
    assert not np.array_equal(_image(ctx), before_image)
    ctx.app.undo()
    assert ctx.app.state == before_state and np.array_equal(_image(ctx), before_image)
    assert not errors


def test_region_resample_keeps_the_cells_outside_and_fills_in_progressively(qtbot, panel):
    p, ctx, errors = panel
    before = p.codes.copy()
    seen = []
    p.partial.connect(lambda item: seen.append(item[3]))
    region = Region(1, 1, 2, 2)
    p.grid_view.select(region)
    p.seed.setValue(5)
    p.resample_region()
    qtbot.waitUntil(lambda: not p.sampling, timeout=30000)
    after = _codes(ctx)
    outside = ~region.mask(before.shape[0])
    assert np.array_equal(after[outside], before[outside])
    assert np.array_equal(p.codes, after)
    qtbot.waitUntil(lambda: len(seen) == 4, timeout=10000)
    assert seen == [1, 2, 3, 4]  # one preview per drawn cell, in order
    assert ctx.app.history.undo_text().startswith("Resample region")
    assert not errors


def test_cancel_stops_a_sample_and_changes_nothing(qtbot, panel):
    p, ctx, errors = panel
    before = ctx.app.state
    decode = p.sampler.decode

    def decode_then_cancel(codes):  # the user presses Cancel while the first cell is shown
        p.cancel()
        return decode(codes)
    p.sampler.decode = decode_then_cancel
    p.sample_image()
    assert p.sampling and p.cancel_btn.isEnabled()
    qtbot.waitUntil(lambda: not p.sampling, timeout=30000)
    assert ctx.app.state == before
    assert "cancelled" in p.status.text() and not errors
    assert p.sample_btn.isEnabled()


def test_sample_image_with_a_seed_is_reproducible(qtbot, panel):
    p, ctx, _ = panel
    p.seed.setValue(11)
    p.sample_image()
    qtbot.waitUntil(lambda: not p.sampling, timeout=30000)
    first = ctx.app.state.ws
    p.sample_image()
    qtbot.waitUntil(lambda: not p.sampling, timeout=30000)
    assert ctx.app.state.ws == first


def test_the_panel_is_off_for_models_without_a_code_grid(qtbot, checkpoint):
    ctx = standalone_context(Renderer("cpu"), [])
    p = CodeMapPanel(ctx)
    qtbot.addWidget(p)
    ctx.app.set_model(ctx.render.load(checkpoint("dcgan")))
    assert not p.supported and "code grid" in p.unsupported(ctx.app.info)
    ctx.jobs.close()
    ctx.render.close()


def test_the_latent_panel_offers_no_directions_to_compute_on_a_vq_vae(qtbot, checkpoint):
    from ganstudio.gui.panels.latent import LatentPanel

    ctx = standalone_context(Renderer("cpu"), [])
    p = LatentPanel(ctx)
    qtbot.addWidget(p)
    ctx.app.set_model(ctx.render.load(checkpoint("vqvae")))
    assert not p.compute_btn.isEnabled() and "discrete codes" in p.dir_status.text()
    ctx.app.set_model(ctx.render.load(checkpoint("dcgan")))  # a continuous latent: Compute is back
    assert p.compute_btn.isEnabled() and "Press Compute" in p.dir_status.text()
    ctx.jobs.close()
    ctx.render.close()
