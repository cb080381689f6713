"""Model card, Progressive GAN stages, attention maps, encoder and device choice, driven through the window."""
import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, QSettings, Qt

from ganstudio.engine import RenderState
from ganstudio.gui.panels.attention import query_index
from tests.gui.conftest import wait_rendered


def shown(win):
    return win.last_result.image


def enabled(win, name):
    return win.docks[name].widget().currentIndex() == 0


@pytest.fixture
def trained_checkpoint(tmp_path):
    """A tiny model saved with the metadata a training run writes (metrics, training, class names)."""
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator, get_spec, list_models

    def make(name, **meta):
        if name not in list_models():
            pytest.skip(f"model family {name!r} is not registered yet")
        torch.manual_seed(0)
        G = create_generator(name, **get_spec(name).tiny)
        path = tmp_path / f"{name}-trained.safetensors"
        save_checkpoint(path, G, **meta)
        return str(path)
    return make


# -- model card --------------------------------------------------------------------------------------
def test_model_card_shows_checkpoint_metrics_and_untrained_notice(qtbot, open_window, trained_checkpoint):
    from ganstudio.models import get_spec
    names = ["tee", "trouser", "bag", "boot"]
    path = trained_checkpoint("cgan", class_names=names, metrics={"fcd": 12.345, "class_accuracy": 0.8125},
                              training={"data": "fashion-mnist", "step": 300, "steps": 300, "preset": "cgan"})
    win = open_window(path)
    card = win.panels["ModelCardPanel"]
    assert enabled(win, "ModelCardPanel")
    assert "12.35" in card.field("Metrics") and "81.2%" in card.field("Class accuracy") + card.field("Metrics")
    assert card.field("Data") == "fashion-mnist"
    assert all(n in card.field("Classes") for n in names)
    assert card.field("Steps").startswith("300")
    assert get_spec("cgan").paper and get_spec("cgan").paper in card.field("Paper")
    assert "12.35" in card.body.text()
    assert not card.notice.isVisibleTo(card)
    # An untrained registry model: the notice, and no metrics claimed.
    win.open_model("registry:dcgan:tiny")
    qtbot.waitUntil(lambda: win.app.info is not None and win.app.info.key == "registry:dcgan:tiny", timeout=15000)
    assert card.notice.isVisibleTo(card) and "untrained" in card.notice.text().lower()
    assert card.field("Metrics") == "" and "untrained" in card.field("Card from")


def test_model_card_names_an_imported_files_origin(qtbot, open_window, trained_checkpoint):
    imported = {"from": "netG_epoch_24.pth", "importer": "pytorch-dcgan", "details": {"ngf": 64},
                "notes": ["BatchNorm statistics <measured>"]}
    win = open_window(trained_checkpoint("dcgan", extra={"imported": imported}))
    card = win.panels["ModelCardPanel"]
    assert "imported" in card.field("Card from")
    text = card.field("Imported")
    assert "netG_epoch_24.pth" in text and "pytorch-dcgan" in text and "ngf 64" in text
    assert "&lt;measured&gt;" in text  # the file's words are shown as text, not markup


def test_model_card_prefers_the_manifest_entry(qtbot, open_window, checkpoint, tmp_path, monkeypatch):
    from ganstudio import pretrained
    path = checkpoint("dcgan")
    entry = {"name": "fmnist-test", "family": "DCGAN", "model": "dcgan", "file": "dcgan.safetensors",
             "data": "fashion-mnist", "command": "ganstudio train --preset dcgan --steps 1200",
             "steps": 1200, "wall_time_s": 754, "device": "cpu", "metrics": {"fcd": 41.5, "fcd_untrained": 310.0},
             "notes": "Trousers <and> boots.", "license": "SIL Open Font License 1.1"}
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", tmp_path)
    monkeypatch.setattr(pretrained, "list_pretrained", lambda: [entry])
    win = open_window(path)  # matched by file, not by name
    card = win.panels["ModelCardPanel"]
    assert "41.50" in card.field("Metrics") and "310.00" in card.field("Metrics")
    assert "ganstudio train --preset dcgan" in card.field("Recipe") and card.recipe == entry["command"]
    assert card.field("Wall time").startswith("12 min 34 s") and "manifest" in card.field("Card from")
    assert card.field("Notes") == "Trousers &lt;and&gt; boots." and "Open Font License" in card.field("Licence")


# -- Progressive GAN stages ----------------------------------------------------------------------------
def test_stage_slider_renders_that_stage_and_undoes(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("progan"))
    panel = win.panels["StagePanel"]
    assert enabled(win, "StagePanel") and not enabled(win, "AttentionPanel") and not enabled(win, "EncoderPanel")
    n = win.app.info.num_stages
    ticks = panel.ticks.labels
    assert ticks == [f"{4 * 2 ** s} px" for s in range(n)]
    win.docks["StagePanel"].raise_()
    qtbot.waitUntil(panel.is_shown)
    assert panel.slider.value() == n - 1 and "the model's own" in panel.heading.text()
    model = win.app.state.model
    full = shown(win).copy()
    panel.slider.setValue(n - 2)
    panel.slider.sliderReleased.emit()
    assert (win.app.state.stage, win.app.state.stage_alpha) == (n - 2, 1.0)
    wait_rendered(qtbot, win)
    at_prev = shown(win).copy()
    assert np.array_equal(at_prev, direct(RenderState(model=model, stage=n - 2)))
    assert not np.array_equal(at_prev, full)
    assert np.array_equal(at_prev[::2, ::2].repeat(2, 0).repeat(2, 1), at_prev)  # nearest-upsampled blocks
    panel.slider.setValue(0)
    panel.slider.sliderReleased.emit()
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(RenderState(model=model, stage=0)))
    assert "4×4 px" in panel.heading.text()
    win.actions_by_name["undo"].trigger()
    assert win.app.state.stage == n - 2 and panel.slider.value() == n - 2
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), at_prev)
    # Fade-in: alpha 0.5 on the last stage blends it with the previous one, exactly as the engine does.
    panel.slider.setValue(n - 1)
    panel.slider.sliderReleased.emit()
    panel.alpha.slider.setValue(panel.alpha._to_pos(0.5))
    assert (win.app.state.stage, win.app.state.stage_alpha) == (n - 1, 0.5)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(RenderState(model=model, stage=n - 1, stage_alpha=0.5)))
    # The strip renders every stage at full size; clicking one selects it.
    panel.refresh()
    qtbot.waitUntil(lambda: panel.strip.count() == n and win.jobs.idle(), timeout=10000)
    assert panel.strip._images[0].width() == win.app.info.resolution
    qtbot.mouseClick(panel.strip, Qt.LeftButton, pos=panel.strip.cell_rect(1).center())
    assert (win.app.state.stage, win.app.state.stage_alpha) == (1, 1.0)
    panel.own_btn.click()  # back to the checkpoint's own stage: the first image again
    assert win.app.state.stage is None and "the model's own" in panel.heading.text()
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), full)


def test_undo_to_the_models_own_stage_restores_its_pixels(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("progan"))
    panel = win.panels["StagePanel"]
    win.docks["StagePanel"].raise_()
    qtbot.waitUntil(panel.is_shown)
    first = shown(win).copy()
    panel.slider.setValue(0)
    panel.slider.sliderReleased.emit()
    wait_rendered(qtbot, win)
    assert not np.array_equal(shown(win), first)
    win.actions_by_name["undo"].trigger()
    assert win.app.state.stage is None
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), first)


# -- attention -----------------------------------------------------------------------------------------
def test_attention_map_of_a_query_sums_to_one(qtbot, open_window, checkpoint, direct):
    win = open_window(checkpoint("sagan"))
    panel = win.panels["AttentionPanel"]
    assert enabled(win, "AttentionPanel") and not enabled(win, "StagePanel")
    win.docks["AttentionPanel"].raise_()
    qtbot.waitUntil(panel.is_shown)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.current_map is not None and win.jobs.idle(), timeout=10000)
    m = panel.current_map
    assert m.shape == (8, 8) and abs(float(m.sum()) - 1.0) < 1e-4 and (m >= 0).all()
    # Click the query image a quarter of the way in: the map is that query's row of the engine's attention.
    a = panel.query_view.area()
    qtbot.mouseClick(panel.query_view, Qt.LeftButton, pos=QPoint(int(a.left() + 0.2 * a.width()),
                                                                  int(a.top() + 0.7 * a.height())))
    fx, fy = panel.query
    assert abs(fx - 0.2) < 0.02 and abs(fy - 0.7) < 0.02
    res = direct.renderer.render(win.app.state)
    assert np.array_equal(res.image, panel.image)
    att = direct.renderer.generator(win.app.state.model).attention_maps()[16][0]
    expected = att[query_index(16, fx, fy)].reshape(8, 8).numpy()
    assert np.allclose(panel.current_map, expected, atol=1e-6)
    assert not np.allclose(expected, m, atol=1e-6)  # another query, another map: the check can fail
    # A click on the main view moves the query too.
    r = win.view.image_rect()
    qtbot.mouseClick(win.view, Qt.LeftButton, pos=QPoint(int(r.left() + 0.9 * r.width()),
                                                          int(r.top() + 0.1 * r.height())))
    assert abs(panel.query[0] - 0.9) < 0.03 and abs(panel.query[1] - 0.1) < 0.03


# -- encoder -------------------------------------------------------------------------------------------
def test_encoder_sets_z_to_the_encoders_mean(qtbot, open_window, checkpoint, direct, tmp_path):
    win = open_window(checkpoint("vae"))
    panel = win.panels["EncoderPanel"]
    assert enabled(win, "EncoderPanel") and not enabled(win, "AttentionPanel")
    info = win.app.info
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (info.resolution, info.resolution), dtype=np.uint8)
    png = tmp_path / "real.png"
    Image.fromarray(pixels, "L").save(png)
    before = win.app.state
    panel.encode_file(str(png))
    qtbot.waitUntil(lambda: win.app.state.z is not None, timeout=10000)
    G = direct.renderer.generator(win.app.state.model)
    x = torch.tensor(pixels, dtype=torch.float32)[None, None] / 127.5 - 1
    with torch.no_grad():
        mu, _ = G.encode(x)
    assert torch.equal(torch.tensor(win.app.state.z), mu[0])
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), direct(win.app.state))
    win.docks["EncoderPanel"].raise_()
    qtbot.waitUntil(lambda: panel.thumbs.labels == ["input", "reconstruction"], timeout=10000)
    win.app.edit(win.app.state.replace(edits=(("raw", 0, 2.0, None),)), "raw z 0")  # z is still mu
    qtbot.waitUntil(lambda: panel.thumbs.labels == ["input", "current image"], timeout=10000)
    win.actions_by_name["undo"].trigger()
    qtbot.waitUntil(lambda: panel.thumbs.labels == ["input", "reconstruction"], timeout=10000)
    win.actions_by_name["undo"].trigger()
    assert win.app.state == before
    # Colour images of another size are converted and resized to the model's.
    big = tmp_path / "big.jpg"
    Image.fromarray(rng.integers(0, 256, (30, 20, 3), dtype=np.uint8), "RGB").save(big)
    win.app.edit(before)
    drop_file(panel, big)  # dropped on the panel rather than opened
    qtbot.waitUntil(lambda: win.app.state.z is not None and win.jobs.idle(), timeout=10000)
    assert panel.pixels.shape == (info.resolution, info.resolution, 1)
    assert win.app.state.model == before.model  # the drop did not go to the window's open-model handler


def drop_file(widget, path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def test_encoder_reports_an_unreadable_file(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("vae"))
    panel = win.panels["EncoderPanel"]
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    before = win.app.state
    panel.encode_file(str(bad))
    qtbot.waitUntil(lambda: win.error_box.isVisible(), timeout=10000)
    assert "could not read notes.png" in win.error_box.text() and "\n" not in panel.status.text()
    panel.encode_file(str(tmp_path / "missing.png"))
    qtbot.waitUntil(lambda: "no such file" in win.error_box.text(), timeout=10000)
    assert win.app.state == before


# -- device --------------------------------------------------------------------------------------------
def test_device_menu_lists_cpu_and_switching_re_renders(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("dcgan"))
    titles = [a.text() for a in win.device_menu.actions()]
    assert "CPU" in titles and any(t.startswith("Auto (") for t in titles)
    assert set(win.device_actions) <= {"auto", "cpu", "cuda", "mps"}
    pixels, old = shown(win).copy(), win.renderer
    win.device_actions["cpu"].trigger()
    assert QSettings(QSettings.IniFormat, QSettings.UserScope, "GANStudio", "GAN Studio").value("device") == "cpu"
    # The render service swaps the renderer in once the model has loaded on it (rendering goes on meanwhile).
    qtbot.waitUntil(lambda: win.renderer is not old, timeout=10000)
    assert win.bridge.renderer is win.renderer and win.render.renderer is win.renderer
    assert win.device_label.text().startswith("device: cpu") and win.device_actions["cpu"].isChecked()
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), pixels)
    win.panels["LatentPanel"].next_btn.click()  # the new bridge renders edits
    wait_rendered(qtbot, win)
    assert not np.array_equal(shown(win), pixels)


def test_precision_menu_switches_to_fp16_and_back(qtbot, open_window, checkpoint):
    win = open_window(checkpoint("stylegan2"))
    assert win.device_label.text() == "device: cpu · fp32" and "GPU" in win.device_label.toolTip()
    assert win.precision_actions["auto"].isChecked()
    pixels = shown(win).copy()
    win.precision_actions["fp16"].trigger()
    stored = QSettings(QSettings.IniFormat, QSettings.UserScope, "GANStudio", "GAN Studio")
    assert stored.value("precision") == "fp16"
    qtbot.waitUntil(lambda: win.device_label.text() == "device: cpu · fp16", timeout=10000)
    assert win.renderer.precision == "fp16"
    assert "at most" in win.device_label.toolTip()
    assert win.app.info.precision == "fp16"  # the model's info follows the reload, not only the label
    wait_rendered(qtbot, win)
    assert np.abs(shown(win).astype(int) - pixels.astype(int)).max() <= 16  # close, from the fp16 path
    win.precision_actions["fp32"].trigger()
    qtbot.waitUntil(lambda: win.device_label.text() == "device: cpu · fp32", timeout=10000)
    wait_rendered(qtbot, win)
    assert np.array_equal(shown(win), pixels)


def test_unavailable_stored_device_falls_back(qtbot):
    from ganstudio.gui.device_menu import available_devices, preferred_renderer
    if "mps" in available_devices():
        pytest.skip("this machine has MPS")
    QSettings(QSettings.IniFormat, QSettings.UserScope, "GANStudio", "GAN Studio").setValue("device", "mps")
    assert preferred_renderer().device.type in ("cpu", "cuda")


def test_a_precision_switch_that_cannot_reload_keeps_the_window_rendering(qtbot, open_window, checkpoint, tmp_path):
    # The new renderer replaced the old before the reload; when the reload failed (the file was gone)
    # every later render failed with "no such file".
    import shutil
    path = tmp_path / "mine.safetensors"
    shutil.copy(checkpoint("dcgan"), path)
    win = open_window(str(path))
    path.unlink()
    win.precision_actions["fp16"].trigger()
    qtbot.waitUntil(lambda: "Could not load" in win.error_box.text(), timeout=15000)
    assert win.renderer.precision == "auto" and win.precision_actions["auto"].isChecked()
    win.actions_by_name["next_seed"].trigger()
    wait_rendered(qtbot, win)
    assert win.last_result.error == "" and win.displayed_state == win.app.state
