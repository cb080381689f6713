"""Every panel built alone against the application core (no MainWindow), driven, and checked against the state.

A panel is handed a PanelContext (state, render service, job runner, error reporter); nothing else of
the window exists here, so a panel that reached for the window, another panel or the renderer's
lock would fail.
"""
import numpy as np
import pytest
import torch
from PIL import Image

from ganstudio import latent
from ganstudio.engine import Renderer, RenderState
from ganstudio.gui.panels import PANELS
from ganstudio.gui.panels._context import standalone_context

FAMILY = {"ClassPanel": "cgan", "StagePanel": "progan", "EncoderPanel": "vae", "AttentionPanel": "sagan",
          "BlendPadPanel": "dcgan", "LatentMapPanel": "aae",
          "CodeMapPanel": "vqvae"}  # the others on a StyleGAN2, which has every other capability
FAMILY["TransformPanel"] = "stylegan3-t"  # the one family with an input transform
SHIPPED = {"AnalysisPanel": "shapes-dcgan"}  # needs a model trained on shapes (the factor probe reads those)


@pytest.fixture(scope="module")
def renderer():
    return Renderer("cpu")


@pytest.fixture
def alone(qtbot, checkpoint, renderer):
    made = []

    def build(cls):
        errors: list = []
        ctx = standalone_context(renderer, errors)
        panel = cls(ctx)
        qtbot.addWidget(panel)
        panel.resize(420, 700)
        panel.show()
        key = SHIPPED.get(cls.__name__) or checkpoint(FAMILY.get(cls.__name__, "stylegan2"))
        ctx.app.set_model(ctx.render.load(key))
        made.append(ctx)
        assert panel.supported and panel.isEnabled(), panel.unsupported(ctx.app.info)
        return panel, ctx, errors
    yield build
    for ctx in made:
        ctx.jobs.close()
        ctx.render.close()


def _idle(qtbot, ctx):
    qtbot.waitUntil(ctx.jobs.idle, timeout=30000)


def _drive_latent(qtbot, p, ctx):
    p.next_btn.click()
    assert ctx.app.state.seed == 1 and p.seed.value() == 1
    ctx.app.edit(ctx.app.state.replace(seed=7), "elsewhere")  # a change from elsewhere is mirrored
    assert p.seed.value() == 7


def _drive_truncation(qtbot, p, ctx):
    p.psi.set_value(0.5)
    assert ctx.app.state.truncation_psi == 0.5
    qtbot.waitUntil(lambda: p.samples.count() == len(p.sample_seeds()), timeout=30000)
    ctx.app.undo()
    assert ctx.app.state.truncation_psi == 1.0 and p.psi.value() == 1.0


def _drive_class(qtbot, p, ctx):
    p.table.item(2, 1).setText("1")
    assert dict(ctx.app.state.class_weights) == {0: 1.0, 2: 1.0}
    p.normalize_btn.click()
    assert dict(ctx.app.state.class_weights) == {0: 0.5, 2: 0.5} and p.table.item(2, 1).text() == "0.5"


def _drive_blend_pad(qtbot, p, ctx):
    p.blend(1.0, 0.0)
    assert torch.equal(torch.tensor(ctx.app.state.z), latent.seeded_z([p.seeds()[1]], ctx.app.info.z_dim)[0])
    qtbot.waitUntil(lambda: all(c is not None for c in p.pad.corners), timeout=30000)


def _drive_latent_map(qtbot, p, ctx):
    p.pick(0.5, -1.0)  # the tiny AAE's 2-D code is its own map: a click sets z there, undoably
    assert ctx.app.state.z == (0.5, -1.0)
    ctx.app.undo()
    assert ctx.app.state.z is None


def _drive_code_map(qtbot, p, ctx):
    from ganstudio.engine.code_map import Region
    qtbot.waitUntil(lambda: p.codes is not None and p.palette.count() > 0, timeout=30000)
    p.grid_view.select(Region(0, 0, 0, 0))
    code = (int(p.codes[0, 0]) + 1) % p.palette.count()
    p.palette.clicked.emit(code)  # the cell's code, one undoable edit of ws (the code grid)
    assert ctx.app.state.ws is not None and int(ctx.app.state.ws[0][0]) == code
    ctx.app.undo()
    assert ctx.app.state.ws is None


def _drive_interpolation(qtbot, p, ctx):
    p.set_a.click()
    ctx.app.edit(ctx.app.state.replace(seed=5), "Seed 5")
    p.set_b.click()
    assert len(ctx.app.bookmarks) == 2 and p.pair() is not None
    qtbot.waitUntil(lambda: p._endpoints is not None, timeout=30000)
    p.t.slider.setValue(p.t.steps // 2)
    assert ctx.app.state.z is not None and p.t.value() == 0.5


def _drive_stage(qtbot, p, ctx):
    p.slider.setValue(0)
    assert ctx.app.state.stage == 0 and "Stage 0" in p.heading.text()
    qtbot.waitUntil(lambda: p.strip.count() == ctx.app.info.num_stages, timeout=30000)


def _drive_encoder(qtbot, p, ctx, tmp_path):
    res = ctx.app.info.resolution
    path = tmp_path / "face.png"
    Image.fromarray(np.full((res, res, ctx.app.info.channels), 128, np.uint8).squeeze()).save(path)
    p.encode_file(str(path))
    qtbot.waitUntil(lambda: ctx.app.state.z is not None, timeout=30000)
    assert len(ctx.app.state.z) == ctx.app.info.z_dim and p.mu is not None


def _drive_mixing(qtbot, p, ctx):
    p.apply_preset("coarse")
    assert ctx.app.state.mix_sources is not None and ctx.app.state.mix_sources[0] == 1
    assert [c.currentIndex() for c in p.layer_combos] == list(ctx.app.state.mix_sources)
    qtbot.waitUntil(lambda: p.grid.count() > 0, timeout=30000)


def _drive_noise(qtbot, p, ctx):
    p.set_all("off")
    assert [n.mode for n in ctx.app.state.noise] == ["off"] * len(ctx.app.info.capabilities.noise_layers)
    assert all(c.currentText() == "off" for c in p.mode_combos)


def _drive_arithmetic(qtbot, p, ctx):
    qtbot.waitUntil(lambda: p.samples.count() == 12, timeout=30000)
    for b in range(3):
        p.add_to_bin(b, b + 1)
    p.compute()
    qtbot.waitUntil(lambda: ctx.app.state.ws is not None, timeout=30000)


def _drive_sweep(qtbot, p, ctx):
    p.method.setCurrentIndex(p.method.findData("raw"))
    p.rows.setValue(1)
    p.steps.setValue(3)
    qtbot.waitUntil(lambda: p.grid.count() == 3, timeout=30000)
    p._pick(2)
    assert ctx.app.state.edits[0].method == "raw" and ctx.app.state.edits[0].alpha > 0


def _drive_gallery(qtbot, p, ctx):
    p.bookmark_current()
    assert len(ctx.app.bookmarks) == 1
    qtbot.waitUntil(lambda: ctx.app.bookmarks[0].thumbnail is not None, timeout=30000)  # rendered by the panel
    ctx.app.edit(ctx.app.state.replace(seed=9), "Seed 9")
    p.restore(0)
    assert ctx.app.state.seed == 0


def _drive_attention(qtbot, p, ctx):
    qtbot.waitUntil(lambda: bool(p.maps), timeout=30000)
    p.set_query(0.9, 0.1)
    assert p.current_map is not None and abs(float(p.current_map.sum()) - 1) < 1e-4
    ctx.view.image_clicked.emit(0.1, 0.9)  # a click on the main image, from the window's view
    assert p.query == (0.1, 0.9)


def _drive_model_card(qtbot, p, ctx):
    assert ctx.app.info.label in p.heading.text() or p.body.text()


def _drive_project(qtbot, p, ctx, tmp_path):
    path = tmp_path / "real.png"
    Image.fromarray(np.full((20, 30, 3), 90, np.uint8)).save(path)
    p.open_image(str(path))
    p.steps.setValue(2)
    p.run_btn.click()
    qtbot.waitUntil(lambda: len(ctx.app.bookmarks) == 1, timeout=30000)
    assert ctx.app.bookmarks[0].state == ctx.app.state and ctx.app.state.ws is not None


def _drive_timeline(qtbot, p, ctx):
    for seed in (3, 8):
        ctx.app.edit(ctx.app.state.replace(seed=seed), "test")
        p.add_current()
    p.play_btn.click()
    qtbot.waitUntil(lambda: ctx.app.state.z is not None, timeout=30000)  # Play edits through the core
    p.play_btn.click()
    assert [k.state.seed for k in p.timeline.keys] == [3, 8] and not p.timer.isActive()


def _drive_layers(qtbot, p, ctx):
    qtbot.waitUntil(lambda: p.act is not None, timeout=30000)
    assert p.layer.count() > 1 and p.shown_layer == p.layer.currentData()
    p.select_channel(1)
    assert p.channel == 1


def _drive_ppl(qtbot, p, ctx):
    p.n.setValue(10)
    p.run_btn.click()
    qtbot.waitUntil(lambda: len(p.results) == 1, timeout=30000)
    assert p.table.rowCount() == 1 and p.results[0]["n"] == 10


def _drive_directions(qtbot, p, ctx):
    ctx.app.edit(ctx.app.state.replace(edits=(("raw", 1, 1.0, None),)), "edit")
    p.name.setText("one")
    p.add_edit_btn.click()
    qtbot.waitUntil(lambda: len(ctx.app.state.user_directions) == 1, timeout=30000)
    assert p.list.count() == 1 and ctx.app.state.user_directions[0].name == "one"


def _drive_edit_grid(qtbot, p, ctx):
    p.count.setValue(4)
    ctx.app.edit(ctx.app.state.replace(edits=(("raw", 1, 1.0, None),)), "edit")
    qtbot.waitUntil(lambda: len(p.shown_states) == 4 and p.shown_states[0].edits == ctx.app.state.edits,
                    timeout=30000)


def _drive_analysis(qtbot, p, ctx):
    p.method.setCurrentIndex(p.method.findData("sefa"))
    p.seeds.setValue(2)
    p.run_btn.click()
    qtbot.waitUntil(lambda: p.report is not None, timeout=60000)
    assert p.table.rowCount() == len(p.directions) and p.table.columnCount() == len(p.report["factors"]) + 2
    p.show_sweep(1)
    qtbot.waitUntil(lambda: len(p._strip_states) > 0, timeout=30000)
    p.strip.clicked.emit(0)
    assert ctx.app.state.edits and ctx.app.state.edits[0][:2] == ("sefa", 1)


def _drive_transform(qtbot, p, ctx):
    p.tx.set_value(0.25)  # one undoable edit per gesture, merged while dragging
    p.tx.released.emit()
    p.rotate.set_value(30.0)
    p.rotate.released.emit()
    assert (ctx.app.state.input_translate_x, ctx.app.state.input_rotate) == pytest.approx((0.25, 30.0), abs=0.01)
    ctx.app.undo()
    assert ctx.app.state.input_rotate == 0.0 and ctx.app.state.input_translate_x == pytest.approx(0.25, abs=0.01)
    p.reset_btn.click()
    assert ctx.app.state.input_translate_x == 0.0


DRIVE = {"LatentPanel": _drive_latent, "TruncationPanel": _drive_truncation, "ClassPanel": _drive_class,
         "BlendPadPanel": _drive_blend_pad, "InterpolationPanel": _drive_interpolation, "StagePanel": _drive_stage,
         "EncoderPanel": _drive_encoder, "MixingPanel": _drive_mixing, "NoisePanel": _drive_noise,
         "ArithmeticPanel": _drive_arithmetic, "SweepPanel": _drive_sweep, "GalleryPanel": _drive_gallery,
         "AttentionPanel": _drive_attention, "ModelCardPanel": _drive_model_card,
         "DirectionsPanel": _drive_directions, "EditGridPanel": _drive_edit_grid,
         "ProjectPanel": _drive_project, "TimelinePanel": _drive_timeline, "LayersPanel": _drive_layers,
         "PPLPanel": _drive_ppl, "LatentMapPanel": _drive_latent_map,
         "CodeMapPanel": _drive_code_map, "AnalysisPanel": _drive_analysis}
DRIVE["TransformPanel"] = _drive_transform


def test_every_panel_has_a_drive():
    assert sorted(DRIVE) == sorted(cls.__name__ for cls, _ in PANELS)


@pytest.mark.parametrize("cls", [cls for cls, _ in PANELS], ids=lambda c: c.__name__)
def test_a_panel_alone_against_the_core(qtbot, alone, cls, tmp_path):
    panel, ctx, errors = alone(cls)
    drive = DRIVE[cls.__name__]
    if cls.__name__ in ("EncoderPanel", "ProjectPanel"):
        drive(qtbot, panel, ctx, tmp_path)
    else:
        drive(qtbot, panel, ctx)
    _idle(qtbot, ctx)
    assert errors == []
    assert ctx.app.state.model == ctx.app.info.key and isinstance(ctx.app.state, RenderState)


def test_no_panel_module_imports_the_window_or_finds_a_panel_by_name():
    from pathlib import Path
    folder = Path(__file__).resolve().parents[2] / "ganstudio" / "gui" / "panels"
    for path in folder.glob("*.py"):
        text = path.read_text()
        assert "main_window" not in text and "MainWindow" not in text, path.name
        assert "panels[" not in text and ".renderer" not in text and ".lock" not in text, path.name


def test_a_panel_re_syncs_only_its_own_fields_and_never_hears_its_own_edit(qtbot, alone, monkeypatch):
    from ganstudio.gui.panels.truncation import TruncationPanel
    panel, ctx, _ = alone(TruncationPanel)
    synced = []
    monkeypatch.setattr(panel, "sync", synced.append)
    panel.psi.set_value(0.4)  # the panel's own edit: its slider already shows it
    assert ctx.app.state.truncation_psi == 0.4 and synced == []
    ctx.app.edit(ctx.app.state.replace(seed=3), "Seed 3")  # a field it does not show
    assert synced == []
    ctx.app.edit(ctx.app.state.replace(truncation_psi=0.2), "psi elsewhere")
    ctx.app.undo()
    assert [s.truncation_psi for s in synced] == [0.2, 0.4]
