"""Opening files the ways users do: a relative path, a file changed on disk, a change of mind while
loading, latents before any model, odd characters in recent files."""
import os

import numpy as np
import torch

from tests.gui.conftest import wait_rendered


def test_a_relative_path_is_kept_absolute(qtbot, open_window, checkpoint, tmp_path, monkeypatch):
    # `cd models; ganstudio open mine.safetensors`: the relative key broke sessions saved elsewhere,
    # listed the file twice in the picker and reloaded it as another model from the recent entry.
    path = checkpoint("dcgan")
    monkeypatch.chdir(tmp_path)
    win = open_window("dcgan.safetensors")
    assert win.app.state.model == str(tmp_path.resolve() / "dcgan.safetensors")
    keys = [win.picker.itemData(i) for i in range(win.picker.count())]
    assert sum(1 for k in keys if k and str(k).endswith("dcgan.safetensors")) == 1
    win.app.edit(win.app.state.replace(seed=7), "seed 7")
    win.picker.activated.emit(win.picker.findData(str(os.path.realpath(path))))  # its recent entry
    qtbot.waitUntil(lambda: win.pending_open is None and win.jobs.idle(), timeout=15000)
    assert win.app.state.seed == 7  # the same model, as it was left


def test_choosing_the_current_model_while_another_loads_wins(qtbot, open_window, checkpoint):
    current, other = checkpoint("dcgan"), checkpoint("cgan")
    win = open_window(current)
    win.open_model(other)  # still loading when the user changes their mind
    win.picker.activated.emit(win.picker.findData(current))
    qtbot.waitUntil(lambda: win.pending_open is None and win.jobs.idle(), timeout=15000)
    wait_rendered(qtbot, win)
    assert win.app.state.model == current


def test_reopening_a_file_that_changed_on_disk_reads_it_again(qtbot, open_window, checkpoint, tmp_path):
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator, get_spec
    path = checkpoint("dcgan", img_channels=1)
    win = open_window(path)
    assert win.app.info.channels == 1
    torch.manual_seed(1)
    save_checkpoint(path, create_generator("dcgan", **{**get_spec("dcgan").tiny, "img_channels": 3}))
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a coarse clock must not hide the change
    win.open_model(path)
    qtbot.waitUntil(lambda: win.pending_open is None and win.app.info.channels == 3, timeout=15000)
    # The state is the same (same file, seed 0) but the image is the new network's.
    qtbot.waitUntil(lambda: win.last_result.image.shape[-1] == 3, timeout=15000)


def test_latents_before_any_model(qtbot, checkpoint, tmp_path):
    from ganstudio.engine import Renderer
    from ganstudio.gui.main_window import MainWindow
    np.save(tmp_path / "z.npy", np.zeros((2, 8), np.float32))
    win = MainWindow(renderer=Renderer("cpu"))
    qtbot.addWidget(win)
    try:
        win.open_path(str(tmp_path / "z.npy"))  # nothing to import them into: say so
        assert win.error_box.isVisible() and "open the model first" in win.error_box.text()
        # `ganstudio open z.npy`: the default model opens, then the latents come in as bookmarks.
        win.open_model(checkpoint("dcgan"))
        win.open_path(str(tmp_path / "z.npy"))
        gallery = win.panels["GalleryPanel"]
        qtbot.waitUntil(lambda: win.app.info is not None and win.jobs.idle() and gallery.list.count() == 2,
                        timeout=15000)
    finally:
        win.shutdown()


def test_recent_files_show_an_ampersand(qtbot, open_window, checkpoint, temp_settings):
    from ganstudio.gui.settings import add_recent_file
    win = open_window(checkpoint("dcgan"))
    add_recent_file("/data/R&D/model.safetensors")
    win._fill_recent()
    shown = [a.iconText() for a in win.recent_menu.actions()]  # the text Qt shows, mnemonics taken out
    assert "/data/R&D/model.safetensors" in shown
