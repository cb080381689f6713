"""The input-transform panel: enabled on StyleGAN3 and its edits reach the render state; disabled, with the reason, elsewhere."""
import pytest

from ganstudio.gui.panels.transform import TransformPanel


def test_disabled_with_the_reason_on_a_stylegan2(qtbot, panel_alone, checkpoint):
    panel, ctx, errors = panel_alone(TransformPanel, checkpoint("stylegan2"))
    assert not panel.supported and not panel.isEnabled()
    assert "input transform" in panel.unsupported(ctx.app.info)
    assert errors == []


def test_edits_on_a_stylegan3_are_undoable_and_mirrored(qtbot, panel_alone, checkpoint):
    panel, ctx, errors = panel_alone(TransformPanel, checkpoint("stylegan3-t"))
    assert panel.supported and panel.isEnabled()
    panel.ty.set_value(-0.5)
    panel.ty.released.emit()
    assert ctx.app.state.input_translate_y == pytest.approx(-0.5, abs=0.01)
    ctx.app.edit(ctx.app.state.replace(input_rotate=45.0), "from elsewhere")  # e.g. a session opened
    assert panel.rotate.value() == pytest.approx(45.0, abs=1.0)
    ctx.app.undo()
    ctx.app.undo()
    assert ctx.app.state.input_translate_y == 0.0 and panel.ty.value() == 0.0
    assert errors == []
