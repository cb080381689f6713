"""Fixtures for the GUI tests: temp QSettings, tiny checkpoints in tmp_path, a window that cleans up."""
import numpy as np
import pytest
import torch

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from ganstudio.engine import Renderer, RenderState  # noqa: E402


@pytest.fixture(autouse=True)
def temp_settings(tmp_path, monkeypatch):
    """Never touch the user's real settings: every test gets an empty INI folder."""
    folder = tmp_path / "settings"
    folder.mkdir()
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(folder))
    return folder


@pytest.fixture
def checkpoint(tmp_path):
    """checkpoint("stylegan2") -> path of a tiny untrained model saved with save_checkpoint (skips if unregistered)."""
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator, get_spec, list_models

    def make(name: str, **overrides) -> str:
        if name not in list_models():
            pytest.skip(f"model family {name!r} is not registered yet")
        torch.manual_seed(0)
        G = create_generator(name, **{**get_spec(name).tiny, **overrides})
        with torch.no_grad():  # StyleGAN starts with zero noise strengths; make noise visible as in a trained model
            for n, p in G.named_parameters():
                if n.endswith("noise_strength"):
                    p.fill_(0.5)
        path = tmp_path / f"{name}.safetensors"
        save_checkpoint(path, G)
        return str(path)
    return make


def wait_rendered(qtbot, win, timeout=15000):
    """Until the displayed image is a full render of the current state and no panel job is pending.
    (A drag's fast preview shows the current state too, until the full image follows the pause: on a
    loaded machine even a tiny model can miss the frame budget and preview.)"""
    qtbot.waitUntil(lambda: win.displayed_state == win.app.state and not getattr(win.last_result, "preview", 0)
                    and win.bridge.worker.idle() and win.jobs.idle(), timeout=timeout)


@pytest.fixture
def open_window(qtbot):
    from ganstudio.gui.main_window import MainWindow
    made = []

    def make(model: str):
        win = MainWindow(renderer=Renderer("cpu"), model=model)
        qtbot.addWidget(win)
        win.resize(1400, 900)
        win.show()
        made.append(win)
        qtbot.waitUntil(lambda: win.app.info is not None, timeout=15000)
        wait_rendered(qtbot, win)
        return win
    yield make
    for win in made:
        win.shutdown()


@pytest.fixture(scope="module")
def direct():
    """An independent renderer: the reference each panel's image is compared against."""
    r = Renderer("cpu")

    def render(state: RenderState) -> np.ndarray:
        res = r.render(state)
        assert res.error == "", res.error
        return res.image
    render.renderer = r
    return render


@pytest.fixture
def panel_alone(qtbot):
    """panel_alone(PanelClass, model) -> (panel, ctx, errors): one panel on a standalone context (no window)
    with ``model`` open; errors the panel reports land in ``errors``.  Contexts are closed afterwards."""
    from ganstudio.gui.panels._context import standalone_context
    made = []

    def build(cls, model: str, renderer=None):
        errors: list = []
        ctx = standalone_context(renderer or Renderer("cpu"), errors)
        panel = cls(ctx)
        qtbot.addWidget(panel)
        panel.resize(520, 800)
        panel.show()
        ctx.app.set_model(ctx.render.load(model))
        made.append(ctx)
        return panel, ctx, errors
    yield build
    for ctx in made:
        ctx.jobs.close()
        ctx.render.close()
