"""Long status and error texts wrap inside their panel instead of widening the dock past its width."""
import pytest

LONG = ("x must have shape [N, 1, 512], got [1, 3, 7] while rendering the samples of this panel "
        "with a model that was opened from a file whose name is rather long as well ") * 2


@pytest.mark.parametrize("family, panel, label", [
    ("stylegan2", "TruncationPanel", "samples_label"),
    ("stylegan2", "NoisePanel", "status"),
    ("stylegan2", "ArithmeticPanel", "space_label"),
    ("cgan", "ClassPanel", "sum_label"),
    ("progan", "StagePanel", "heading"),
])
def test_a_long_status_text_does_not_widen_the_panel(qtbot, open_window, checkpoint, family, panel, label):
    win = open_window(checkpoint(family))
    p, dock = win.panels[panel], win.docks[panel]
    getattr(p, label).setText(LONG)
    assert p.minimumSizeHint().width() <= dock.minimumWidth()
