"""Direction library (Directions panel), 64 paged sliders, the N-seed edit grid and the InfoGAN code sliders."""
import json

import numpy as np
import torch

from ganstudio.engine import RenderState
from ganstudio.engine.state import Edit
from ganstudio.gui.panels.edit_grid import grid_states
from ganstudio.latent.library import MAX_DIRECTIONS, UserDirection, load_library
from tests.gui.conftest import wait_rendered


def _library_of(n, dim):
    return tuple(UserDirection(f"dir {i}", "w", tuple(float((i + k) % 5 - 2) / 4 for k in range(dim)))
                 for i in range(n))


def test_paging_reaches_the_64th_library_slider(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    info = win.app.info
    win.app.edit(win.app.state.replace(user_directions=_library_of(MAX_DIRECTIONS, info.w_dim)), "library")
    panel = win.panels["LatentPanel"]
    panel.method.setCurrentIndex(panel.method.findData("user"))
    assert "64 saved directions" in panel.dir_status.text()
    assert panel.dir_sliders[0].label.text() == "dir 0" and panel.dir_sliders[0].isEnabled()
    for _ in range(3):
        panel.dir_next.click()
    assert panel.dir_page == 3 and not panel.dir_next.isEnabled() and "page 4 of 4" in panel.dir_page_label.text()
    last = panel.dir_sliders[-1]
    assert last.label.text() == "dir 63"
    last.slider.setValue(last._to_pos(1.5))
    assert win.app.state.edits == (Edit("user", 63, 1.5, None),)
    wait_rendered(qtbot, win)
    assert np.array_equal(win.last_result.image, direct(win.app.state))
    panel.dir_prev.click()
    assert panel.dir_sliders[-1].label.text() == "dir 47" and panel.dir_sliders[-1].value() == 0.0


def test_directions_panel_keeps_renames_deletes_saves_and_loads(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("stylegan2"))
    panel, latent = win.panels["DirectionsPanel"], win.panels["LatentPanel"]
    win.docks["DirectionsPanel"].raise_()
    latent.raw_space.setCurrentIndex(1)  # w
    latent.z_sliders[2].slider.setValue(latent.z_sliders[2]._to_pos(1.5))
    edited = win.app.state
    panel.name.setText("my edit")
    panel.add_edit_btn.click()
    qtbot.waitUntil(lambda: len(win.app.state.user_directions) == 1, timeout=15000)
    d = win.app.state.user_directions[0]
    assert d.name == "my edit" and d.space == "w" and abs(d.vector[2] - 1.5) < 1e-5 and panel.list.count() == 1
    panel.source.setCurrentIndex(panel.source.findData("raw"))
    panel.index.setValue(4)
    panel.name.setText("")
    panel.add_source_btn.click()
    qtbot.waitUntil(lambda: len(win.app.state.user_directions) == 2, timeout=15000)
    assert win.app.state.user_directions[1].name == "z #4" and win.app.state.user_directions[1].space == "z"
    panel.list.setCurrentRow(1)
    panel.rename_selected("fourth z")
    assert win.app.state.user_directions[1].name == "fourth z"
    win.actions_by_name["undo"].trigger()
    assert win.app.state.user_directions[1].name == "z #4"
    win.actions_by_name["redo"].trigger()

    path = tmp_path / "lib.json"
    panel.save_file(str(path))
    qtbot.waitUntil(lambda: path.exists() and win.jobs.idle(), timeout=15000)
    assert [x.name for x in load_library(path).directions] == ["my edit", "fourth z"]
    panel.list.setCurrentRow(0)
    panel.delete_selected()
    assert [x.name for x in win.app.state.user_directions] == ["fourth z"]
    panel.load_file(str(path))
    qtbot.waitUntil(lambda: len(win.app.state.user_directions) == 2, timeout=15000)
    assert win.app.state.user_directions == load_library(path).directions
    assert edited.edits == win.app.state.edits  # loading kept the raw w edit (no library edits were on)

    doc = json.loads(path.read_text())
    doc["model"]["fingerprint"] = "sha256:0000"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    before = win.app.state
    panel.load_file(str(other))
    qtbot.waitUntil(lambda: "other.json" in panel.status.text(), timeout=15000)
    assert "is for the model" in panel.status.text() and "\n" not in panel.status.text()
    assert win.app.state == before  # nothing lost


def test_the_edit_grid_follows_an_edit(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("stylegan2"))
    grid, latent = win.panels["EditGridPanel"], win.panels["LatentPanel"]
    win.docks["EditGridPanel"].raise_()
    grid.count.setValue(4)
    latent.seed.setValue(10)
    qtbot.waitUntil(lambda: [s.seed for s in grid.shown_states] == [11, 12, 13, 14], timeout=30000)
    latent.z_sliders[1].slider.setValue(latent.z_sliders[1]._to_pos(2.0))
    want = grid_states(win.app.state, 11, 4, False)
    qtbot.waitUntil(lambda: grid.shown_states == want, timeout=30000)
    qtbot.waitUntil(lambda: win.jobs.idle(), timeout=30000)
    # The grid renders in pieces between main renders: a piece's GEMMs may round one level off a whole batch's.
    assert np.abs(grid.grid._arrays.astype(int) - direct.renderer.render_batch(want).image.astype(int)).max() <= 1
    grid.before.setChecked(True)
    qtbot.waitUntil(lambda: len(grid.shown_states) == 8, timeout=30000)
    assert [s.edits for s in grid.shown_states[:4]] == [()] * 4  # the plain seeds above the edited ones
    assert all(s.edits == win.app.state.edits for s in grid.shown_states[4:])


def test_infogan_code_sliders_change_the_code_dims_only(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("infogan"))  # tiny: z = 8 noise + 10 categories + 2 continuous
    panel = win.panels["LatentPanel"]
    codes = panel.codes
    assert codes.isVisible() and codes.category.count() == 11 and len(codes.sliders) == 2
    renderer = direct.renderer
    z0 = renderer.latents(win.app.state)[0][0]
    assert codes.category.itemText(0) == f"seed's own ({int(z0[8:18].argmax())})"
    assert codes.sliders[0].value() == float(z0[18])
    codes.set_category(4)
    codes.sliders[1].slider.setValue(codes.sliders[1]._to_pos(-1.5))
    assert set(win.app.state.edits) == {Edit("code", 0, 4.0), Edit("code", 2, -1.5)}
    z1 = renderer.latents(win.app.state)[0][0]
    changed = torch.nonzero(z1 != z0).flatten().tolist()
    assert set(changed) <= set(range(8, 20)) and z1[12] == 1.0 and z1[19] == -1.5 and z1[18] == z0[18]
    wait_rendered(qtbot, win)
    assert np.array_equal(win.last_result.image, direct(win.app.state))
    codes.reset_btn.click()
    assert win.app.state.edits == ()
    assert RenderState(model=win.app.state.model) == win.app.state.replace(seed=0)
