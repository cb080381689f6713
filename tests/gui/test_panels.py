"""Each panel driven through its widgets; the window's image must equal a direct render of the claimed state."""
import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from ganstudio import latent
from ganstudio.engine import RenderState
from ganstudio.imaging import to_uint8
from tests.gui.conftest import wait_rendered


def shown(win):
    return win.last_result.image


def test_psi_zero_gives_the_w_avg_image(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    before = shown(win).copy()
    panel = win.panels["TruncationPanel"]
    assert win.docks["TruncationPanel"].widget().currentIndex() == 0  # enabled: truncation == "w"
    panel.psi.slider.setValue(panel.psi._to_pos(0.0))
    assert win.app.state.truncation_psi == 0.0
    wait_rendered(qtbot, win)
    G = direct.renderer.generator(win.app.state.model)
    ws = G.w_avg.reshape(1, 1, -1).expand(1, G.num_ws, -1)
    with torch.no_grad():
        expected = to_uint8(G.synthesis(ws, None, noise_mode="const"))[0]
    assert np.array_equal(shown(win), expected)
    assert not np.array_equal(before, expected)  # psi 1 differs: the check can fail
    # The sample row at psi 0: every seed collapses to the same average image.
    panel.refresh()
    qtbot.waitUntil(lambda: panel.samples.count() == 8 and win.jobs.idle(), timeout=10000)


def test_mixing_all_layers_from_the_column_seed_gives_the_column_image(qtbot, open_window, checkpoint, direct,
                                                                     tmp_path):
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["MixingPanel"]
    win.docks["MixingPanel"].raise_()
    panel.row_seeds.setText("3, 4")
    panel.col_seeds.setText("7, 8")
    panel.grid_preset.setCurrentText("all")
    panel.refresh()
    qtbot.waitUntil(lambda: panel.grid.count() == 9 and win.jobs.idle(), timeout=10000)
    # Click the cell at row 1 (seed 4), column 0 (seed 7): grid index (1 + 1) * 3 + (0 + 1).
    rect = panel.grid.cell_rect(2 * 3 + 1)
    qtbot.mouseClick(panel.grid, Qt.LeftButton, pos=rect.center())
    st = win.app.state
    assert (st.seed, st.mix_seeds, st.mix_sources) == (4, (7,), (1,) * len(st.mix_sources))
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(RenderState(model=st.model, seed=7)))
    # The grid saves as a PNG of the rendered cells: cell (row 1, col 0) is the column seed's image.
    out = tmp_path / "mixing.png"
    panel.grid.save_grid(str(out), scale=2)
    saved = np.asarray(Image.open(out).convert("RGB"))
    h, w = shown(win).shape[:2]
    assert saved.shape[:2] == (2 * (3 * (h + 2) + 2), 2 * (3 * (w + 2) + 2))
    y, x = 2 * (2 + 2 * (h + 2)), 2 * (2 + 1 * (w + 2))  # row 2, col 1 of the grid (headers included)
    cell = saved[y:y + 2 * h:2, x:x + 2 * w:2]
    assert np.array_equal(cell, direct(RenderState(model=st.model, seed=7))[..., :3])
    # Coarse layers only: neither the row nor the column image.
    panel.grid_preset.setCurrentText("coarse")
    qtbot.waitUntil(lambda: "coarse" in panel.grid_note.text(), timeout=10000)  # clicks open what is drawn
    panel.click_cell(1, 0)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(win.app.state))
    assert not np.array_equal(shown(win), direct(RenderState(model=st.model, seed=7)))


def test_per_layer_sources_and_presets(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["MixingPanel"]
    info = win.app.info
    labels = [panel.layers_grid.itemAtPosition(r, c).widget().text()
              for c in (0, 2) for r in range(panel.layers_grid.rowCount())
              if panel.layers_grid.itemAtPosition(r, c)]
    assert len(labels) == info.num_ws and labels[0].endswith(f"{info.capabilities.layer_resolutions[0]}px")
    panel.preset_buttons["fine"].click()
    presets = latent.layer_presets(info.num_ws, info.capabilities.layer_resolutions)
    assert [i for i, s in enumerate(win.app.state.mix_sources) if s] == presets["fine"]
    panel.layer_combos[0].setCurrentIndex(2)  # layer 0 from the second mix seed
    assert win.app.state.mix_sources[0] == 2
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(win.app.state))


def test_noise_off_is_deterministic(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["NoisePanel"]
    n = len(win.app.info.capabilities.noise_layers)
    assert [panel.grid.itemAtPosition(i, 0).widget().text() for i in range(n)][0].startswith("0: 4×4")
    panel.all_mode.activated.emit(panel.all_mode.findText("random"))
    assert {m for m, _, _ in win.app.state.noise} == {"random"}
    a, b = direct(win.app.state), direct(win.app.state)
    assert not np.array_equal(a, b)  # random noise: two renders differ
    panel.all_mode.activated.emit(panel.all_mode.findText("off"))
    assert {m for m, _, _ in win.app.state.noise} == {"off"}
    wait_rendered(qtbot, win)
    a, b = direct(win.app.state), direct(win.app.state)
    assert np.array_equal(a, b) and np.array_equal(shown(win), a)
    # Strength multiplier and re-roll reach the state.
    panel.strength.slider.setValue(panel.strength._to_pos(2.0))
    assert win.app.state.noise_strength == 2.0
    seeds = [s for _, s, _ in win.app.state.noise]
    panel.reroll_btn.click()
    assert [s for _, s, _ in win.app.state.noise] != seeds


def test_class_weight_one_gives_the_pure_class(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("cgan"))
    panel = win.panels["ClassPanel"]
    assert win.docks["ClassPanel"].widget().currentIndex() == 0
    win.docks["ClassPanel"].raise_()
    qtbot.waitUntil(panel.is_shown)
    assert panel.table.item(0, 1).text() == "1"  # mirrors the state: class 0 by default
    # Type weights into the table: class 2 at 1, then class 0 at 0.
    panel.table.item(2, 1).setText("1")
    panel.table.item(0, 1).setText("0")
    assert dict(win.app.state.class_weights) == {2: 1.0}
    wait_rendered(qtbot, win)
    G = direct.renderer.generator(win.app.state.model)
    z = latent.seeded_z([0], G.z_dim)
    with torch.no_grad():
        expected = to_uint8(G(z, latent.class_vector(2, G.c_dim)[None]))[0]
    assert np.array_equal(shown(win), expected)
    # The two-class slider at t = 1 is the pure second class.
    panel.class_a.setCurrentIndex(0)
    panel.class_b.setCurrentIndex(3)
    panel.t.slider.setValue(panel.t.steps)
    assert dict(win.app.state.class_weights) == {0: 0.0, 3: 1.0} or dict(win.app.state.class_weights) == {3: 1.0}
    wait_rendered(qtbot, win)
    with torch.no_grad():
        expected3 = to_uint8(G(z, latent.class_vector(3, G.c_dim)[None]))[0]
    assert np.array_equal(shown(win), expected3)
    panel.t.slider.setValue(panel.t.steps // 2)
    panel.normalize_btn.click()
    assert abs(sum(w for _, w in win.app.state.class_weights) - 1) < 1e-9


@pytest.mark.parametrize("family, space", [("dcgan", "z"), ("stylegan2", "ws")])
def test_vector_arithmetic_computes_a_minus_b_plus_c(qtbot, open_window, checkpoint, direct, family, space):
    win = open_window(checkpoint(family))
    panel = win.panels["ArithmeticPanel"]
    win.docks["ArithmeticPanel"].raise_()
    panel.refresh()
    qtbot.waitUntil(lambda: panel.samples.count() == 12 and win.jobs.idle(), timeout=10000)
    picks = {0: [0, 1], 1: [2], 2: [3, 5]}
    for b, cells in picks.items():
        panel.bin_group.button(b).setChecked(True)
        for i in cells:
            qtbot.mouseClick(panel.samples, Qt.LeftButton, pos=panel.samples.cell_rect(i).center())
    seeds = panel.sample_seeds()
    assert panel.bins == [[seeds[i] for i in picks[b]] for b in range(3)]
    panel.compute_btn.click()
    qtbot.waitUntil(lambda: getattr(win.app.state, space) is not None, timeout=10000)
    wait_rendered(qtbot, win)
    r = direct.renderer
    pick = 2 if space == "ws" else 0
    groups = [torch.cat([r.latents(RenderState(model=win.app.state.model, seed=seeds[i]))[pick] for i in picks[b]])
              for b in range(3)]
    expected = (groups[0].mean(0) - groups[1].mean(0)) + groups[2].mean(0)
    got = torch.tensor(getattr(win.app.state, space))
    assert torch.equal(got, expected.float())
    assert np.array_equal(shown(win), direct(win.app.state))
    qtbot.waitUntil(lambda: panel.variations.count() == 6, timeout=10000)


def test_blend_pad_bilinear_blend(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("dcgan"))
    panel = win.panels["BlendPadPanel"]
    win.docks["BlendPadPanel"].raise_()
    qtbot.waitUntil(lambda: panel.pad.width() > 100)
    a = panel.pad.area()
    qtbot.mouseClick(panel.pad, Qt.LeftButton, pos=QPoint(int(a.left() + 0.25 * a.width()),
                                                         int(a.top() + 0.75 * a.height())))
    u, v = panel.pad.u, panel.pad.v
    assert abs(u - 0.25) < 0.02 and abs(v - 0.75) < 0.02
    z4 = latent.seeded_z(panel.seeds(), win.app.info.z_dim)
    w = torch.tensor([(1 - u) * (1 - v), u * (1 - v), (1 - u) * v, u * v])
    linear = (w[:, None] * z4).sum(0)
    z = torch.tensor(win.app.state.z)
    # The direction of the bilinear blend, at the corners' weighted norm (not the shrunken linear sum's).
    assert torch.allclose(z / z.norm(), linear / linear.norm(), atol=1e-6)
    assert torch.isclose(z.norm(), (w * z4.norm(dim=1)).sum(), rtol=1e-5)
    assert z.norm() > linear.norm() * 1.05
    assert "norm" in panel.norm_note.text()
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(win.app.state))
    # A corner is exactly that seed's image.
    panel.blend(1.0, 0.0)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(RenderState(model=win.app.state.model, seed=panel.seeds()[1])))


def test_interpolation_endpoints_are_exact(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    model = win.app.state.model
    panel = win.panels["InterpolationPanel"]
    panel.set_a.click()
    win.panels["LatentPanel"].next_btn.click()
    wait_rendered(qtbot, win)
    panel.set_b.click()
    assert panel.pair() is not None
    qtbot.waitUntil(lambda: panel._endpoints is not None, timeout=10000)
    panel.t.slider.setValue(panel.t.steps)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(RenderState(model=model, seed=1)))
    panel.mode.setCurrentIndex(1)  # lerp
    panel.t.slider.setValue(0)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(RenderState(model=model, seed=0)))
    panel.t.slider.setValue(panel.t.steps // 2)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(win.app.state))
    panel.play_btn.click()
    qtbot.waitUntil(lambda: panel.t.value() != 0.5, timeout=3000)
    panel.play_btn.click()
    assert not panel.timer.isActive()


def test_undo_puts_the_interpolation_slider_back(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["InterpolationPanel"]
    win.docks["InterpolationPanel"].raise_()
    panel.set_a.click()
    win.panels["LatentPanel"].next_btn.click()
    panel.set_b.click()
    qtbot.waitUntil(lambda: panel._endpoints is not None, timeout=10000)
    for pos in (30, 40):  # one drag to t = 0.4 ...
        panel.t.slider.setValue(pos)
    panel.t.slider.sliderReleased.emit()
    at_04 = win.app.state
    for pos in (60, 70):  # ... and another to t = 0.7
        panel.t.slider.setValue(pos)
    panel.t.slider.sliderReleased.emit()
    win.actions_by_name["undo"].trigger()
    assert win.app.state == at_04 and panel.t.value() == pytest.approx(0.4)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(at_04))
    win.actions_by_name["redo"].trigger()
    assert panel.t.value() == pytest.approx(0.7)


def test_latent_panel_seed_raw_z_and_directions(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["LatentPanel"]
    panel.next_btn.click()
    panel.next_btn.click()
    panel.prev_btn.click()
    assert win.app.state.seed == 1
    panel.z_sliders[3].slider.setValue(panel.z_sliders[3]._to_pos(1.5))
    assert win.app.state.edits == (("raw", 3, 1.5, None),)
    panel.compute_btn.click()
    qtbot.waitUntil(lambda: panel.dir_sliders[0].isEnabled(), timeout=15000)
    panel.layer_start.setValue(2)
    panel.dir_sliders[0].slider.setValue(panel.dir_sliders[0]._to_pos(2.0))
    assert ("pca", 0, 2.0, (2, win.app.info.num_ws)) in win.app.state.edits
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(win.app.state))
    panel.reset_btn.click()
    assert win.app.state.edits == ()


def test_latent_panel_raw_w_sliders_edit_w_on_the_layer_range(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    panel, info = win.panels["LatentPanel"], win.app.info
    assert panel.raw_space.isVisible()
    panel.raw_space.setCurrentIndex(1)  # w
    assert panel.z_sliders[0].label.text() == "w[0]" and f"of {info.w_dim}" in panel.page_label.text()
    panel.layer_start.setValue(1)
    panel.layer_end.setValue(3)
    panel.z_sliders[2].slider.setValue(panel.z_sliders[2]._to_pos(1.5))
    assert win.app.state.edits == (("w", 2, 1.5, (1, 3)),)
    wait_rendered(qtbot, win)
    # The image is the seed's ws with 1.5 added to dimension 2 of layers 1 and 2 only.
    _, _, ws = direct.renderer.latents(win.app.state.replace(edits=()))
    ws[0, 1:3, 2] += 1.5
    expect = direct(win.app.state.replace(edits=(), ws=tuple(tuple(r) for r in ws[0].tolist())))
    assert np.array_equal(shown(win), expect) and np.array_equal(shown(win), direct(win.app.state))
    # Moving the layer range moves the edit with it; undo takes the slider back.
    panel.layer_start.setValue(0)
    assert win.app.state.edits == (("w", 2, 1.5, (0, 3)),)
    win.actions_by_name["undo"].trigger()
    assert win.app.state.edits == (("w", 2, 1.5, (1, 3)),)
    assert (panel.layer_start.value(), panel.layer_end.value()) == (1, 3)  # the spin boxes follow
    win.actions_by_name["undo"].trigger()
    assert win.app.state.edits == ()
    # Models without style layers offer z only.
    other = open_window(checkpoint("dcgan"))
    assert not other.panels["LatentPanel"].raw_space.isVisible()
    assert other.panels["LatentPanel"].raw_method() == "raw"


def test_panels_enable_from_capabilities(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    enabled = {n: d.widget().currentIndex() == 0 for n, d in win.docks.items()}
    assert not enabled["MixingPanel"] and not enabled["NoisePanel"] and not enabled["TruncationPanel"]
    assert not enabled["ClassPanel"] and enabled["LatentPanel"] and enabled["ArithmeticPanel"]
    assert "style" in win.docks["MixingPanel"].widget().widget(1).text()
    # Disabled panels do not edit the state.
    before = win.app.state
    win.panels["NoisePanel"].set_all("off")
    assert win.app.state == before


def test_one_noise_layer_off_keeps_the_models_own_noise_elsewhere(qtbot, open_window, checkpoint, direct):
    # The default shows every layer as 'const' (the model's stored noise): switching one layer off
    # must not redraw the others (they used to turn into seeded noise, changing the whole image).
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["NoisePanel"]
    assert [c.currentText() for c in panel.mode_combos] == ["const"] * len(panel.mode_combos)
    panel.mode_combos[1].setCurrentIndex(panel.mode_combos[1].findText("off"))
    wait_rendered(qtbot, win)
    assert [m for m, _, _ in win.app.state.noise] == ["const", "off"] + ["const"] * (len(panel.mode_combos) - 2)
    G = direct.renderer.generator(win.app.state.model)
    _, c, ws = direct.renderer.latents(win.app.state)
    own = G.const_noise()
    own[1] = torch.zeros_like(own[1])
    with torch.no_grad():
        want = to_uint8(G.synthesis(ws, c, noise_mode="const", noise_inputs=own))[0]
    assert np.array_equal(shown(win), want)
    # All layers 'const' again is the plain render.
    panel.mode_combos[1].setCurrentIndex(panel.mode_combos[1].findText("const"))
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(win.app.state.replace(noise=None)))


def test_raw_z_is_disabled_and_explained_on_an_explicit_w(qtbot, open_window, checkpoint):
    # A StyleGAN image given as w (arithmetic, interpolation, a latent file) has no z: the raw z sliders
    # used to accept moves that changed nothing, and the raw z sweep drew identical cells.
    win = open_window(checkpoint("stylegan2"))
    latent_panel, sweep = win.panels["LatentPanel"], win.panels["SweepPanel"]
    assert all(s.isEnabled() for s in latent_panel.z_sliders)
    _, _, ws = win.renderer.latents(win.app.state)
    win.app.edit(win.app.state.replace(ws=ws[0].tolist()), "explicit w")
    wait_rendered(qtbot, win)
    assert not any(s.isEnabled() for s in latent_panel.z_sliders)
    assert "raw z needs a seed" in latent_panel.explicit.text()
    latent_panel.raw_space.setCurrentIndex(latent_panel.raw_space.findData("w"))  # raw w still applies
    assert all(s.isEnabled() for s in latent_panel.z_sliders if s.isVisibleTo(latent_panel))
    win.docks["SweepPanel"].raise_()
    sweep.method.setCurrentIndex(sweep.method.findData("raw"))
    qtbot.waitUntil(lambda: "explicit w" in sweep.status.text(), timeout=10000)
    latent_panel.back_to_seed.click()
    wait_rendered(qtbot, win)
    latent_panel.raw_space.setCurrentIndex(latent_panel.raw_space.findData("raw"))
    assert all(s.isEnabled() for s in latent_panel.z_sliders)


def test_blend_pad_corners_follow_biggan_truncation(qtbot, open_window, checkpoint, direct):
    # With Truncate z on, the pad at a corner is that corner's (truncated) image, as its thumbnail shows;
    # it used to blend the untruncated seeds and render as if truncation were off.
    win = open_window(checkpoint("biggan"))
    win.app.edit(win.app.state.replace(z_threshold=0.3), "threshold")
    panel = win.panels["BlendPadPanel"]
    win.docks["BlendPadPanel"].raise_()
    panel.blend(0.0, 0.0)
    wait_rendered(qtbot, win)
    corner = win.app.state.replace(z=None, seed=panel.seeds()[0])
    assert np.array_equal(shown(win), direct(corner))
    assert not np.array_equal(shown(win), direct(corner.replace(z_threshold=None)))


def test_mixing_grid_clicks_open_the_cell_drawn_not_the_text_typed(qtbot, open_window, checkpoint):
    # Seeds typed but not yet rendered: a click opened another mix, or raised IndexError in the slot.
    win = open_window(checkpoint("stylegan2"))
    panel = win.panels["MixingPanel"]
    win.docks["MixingPanel"].raise_()
    qtbot.waitUntil(lambda: panel.grid.count() > 0, timeout=10000)
    rows, cols, *_ = panel._grid_shape
    panel.row_seeds.setText("300-302")
    panel._on_grid_click(2 * (len(cols) + 1) + 2)  # row 1, column 1 as drawn
    assert (win.app.state.seed, win.app.state.mix_seeds) == (rows[1], (cols[1],))
    panel.row_seeds.setText("10")
    panel.click_cell(len(rows) - 1, 0)  # the last row drawn: no IndexError
    assert win.app.state.seed == rows[-1]
    panel.click_cell(len(rows), 0)  # past the grid: nothing happens
    assert win.app.state.seed == rows[-1]


def test_deleting_another_bookmark_keeps_the_interpolation_endpoints(qtbot, open_window, checkpoint):
    # The combos kept their row numbers: deleting bookmark 0 turned "1 -> 2" into "2 -> 3".
    win = open_window(checkpoint("dcgan"))
    panel = win.panels["InterpolationPanel"]
    for seed in (10, 1, 2, 30):
        win.app.edit(win.app.state.replace(seed=seed), f"Seed {seed}")
        win.panels["GalleryPanel"].bookmark_current()
    panel.combo_a.setCurrentIndex(1)
    panel.combo_b.setCurrentIndex(2)
    win.app.remove_bookmark(0)
    a, b = panel.pair()
    assert (a.seed, b.seed) == (1, 2)


def test_undo_while_playing_stops_play_and_keeps_the_undone_state(qtbot, open_window, checkpoint):
    # The next frame pushed a new "Interpolate" step over the undo, losing the pre-play image and the redo.
    win = open_window(checkpoint("dcgan"))
    panel = win.panels["InterpolationPanel"]
    panel.set_a.click()
    win.panels["LatentPanel"].next_btn.click()
    wait_rendered(qtbot, win)
    panel.set_b.click()
    qtbot.waitUntil(lambda: panel._endpoints is not None, timeout=10000)
    before = win.app.state
    panel.play_btn.click()
    qtbot.waitUntil(lambda: win.app.state.z is not None, timeout=3000)
    win.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: not panel.timer.isActive(), timeout=10000)  # (before the fix: Play went on to t = 1)
    wait_rendered(qtbot, win)
    assert win.app.state == before
    assert win.app.history.can_redo()
