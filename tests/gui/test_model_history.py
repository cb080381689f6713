"""Each model keeps its own undo history and the state it was left in (a model is a document)."""
import numpy as np

from ganstudio.engine import RenderState
from ganstudio.engine.renderer import ModelInfo
from ganstudio.gui import app_state
from ganstudio.gui.app_state import AppState
from ganstudio.models import Capabilities
from tests.gui.conftest import wait_rendered


def switch(qtbot, win, key, *args):
    win.open_model(key, *args)
    qtbot.waitUntil(lambda: win.app.state.model == key and win.pending_open is None, timeout=15000)
    wait_rendered(qtbot, win)


def test_switching_back_finds_the_model_as_it_was_left_with_its_history(qtbot, open_window, checkpoint, direct):
    a, b = checkpoint("stylegan2"), checkpoint("dcgan")
    win = open_window(a)
    latent = win.panels["LatentPanel"]
    latent.next_btn.click()
    latent.next_btn.click()
    wait_rendered(qtbot, win)
    left_a = win.app.state
    pixels_a = win.last_result.image.copy()
    assert left_a.seed == 2 and win.app.history.count() == 2

    switch(qtbot, win, b)
    assert win.app.state == RenderState(model=b)  # a new model starts from its default state
    assert win.app.history.count() == 0 and not win.actions_by_name["undo"].isEnabled()
    latent.seed.setValue(9)
    wait_rendered(qtbot, win)
    assert win.app.history.count() == 1

    switch(qtbot, win, a)
    assert win.app.state == left_a and win.app.history.count() == 2
    assert np.array_equal(win.last_result.image, pixels_a)
    assert latent.seed.value() == 2  # the panels show the restored state
    win.actions_by_name["undo"].trigger()  # the undo action follows the current model's history
    wait_rendered(qtbot, win)
    assert win.app.state.seed == 1 and win.app.state.model == a
    assert np.array_equal(win.last_result.image, direct(RenderState(model=a, seed=1)))
    win.actions_by_name["undo"].trigger()
    assert win.app.state.seed == 0 and not win.actions_by_name["undo"].isEnabled()  # never reaches model b

    switch(qtbot, win, b)
    assert win.app.state.seed == 9 and win.app.history.undo_text()


def test_a_session_or_bookmark_of_a_model_seen_before_is_one_undo_step(qtbot, open_window, checkpoint, tmp_path):
    a, b = checkpoint("stylegan2"), checkpoint("dcgan")
    win = open_window(a)
    win.panels["LatentPanel"].seed.setValue(7)
    wait_rendered(qtbot, win)
    path = tmp_path / "s.json"
    from ganstudio.engine import save_session
    save_session(path, RenderState(model=a, seed=3, truncation_psi=0.5), {})
    switch(qtbot, win, b)

    win.open_session(str(path))
    qtbot.waitUntil(lambda: win.app.state.model == a, timeout=15000)
    wait_rendered(qtbot, win)
    assert win.app.state.seed == 3 and win.app.history.undo_text() == "Open session"
    win.actions_by_name["undo"].trigger()
    assert win.app.state == RenderState(model=a, seed=7)


def _info(key: str, z_dim: int = 8) -> ModelInfo:
    return ModelInfo(key=key, label=key, model_name="dcgan", family="dcgan", capabilities=Capabilities(),
                     class_names=[], z_dim=z_dim, w_dim=z_dim, num_ws=1, c_dim=0, resolution=8, channels=1)


def test_a_file_that_now_holds_another_network_starts_afresh(qtbot):
    app = AppState()
    app.set_model(_info("m.safetensors"))
    app.edit(app.state.replace(seed=4, z=(0.5,) * 8))
    app.set_model(_info("other"))
    app.set_model(_info("m.safetensors", z_dim=16))  # same name, other shapes: the old z would not fit
    assert app.state == RenderState(model="m.safetensors") and app.history.count() == 0


def test_histories_are_kept_for_the_most_recently_used_models(qtbot):
    app = AppState()
    keys = [f"m{i}" for i in range(app_state.MAX_HISTORIES + 1)]
    for k in keys:
        app.set_model(_info(k))
        app.edit(app.state.replace(seed=5))
    app.set_model(_info(keys[1]))  # kept: comes back at seed 5 with its step
    assert app.state.seed == 5 and app.history.count() == 1
    app.set_model(_info(keys[0]))  # the least recently used: dropped, starts afresh
    assert app.state.seed == 0 and app.history.count() == 0
    assert len(app.core.histories) == app_state.MAX_HISTORIES
