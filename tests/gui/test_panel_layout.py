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


def test_dock_scroll_areas_keep_their_vertical_scroll_bar(qtbot, open_window, checkpoint):
    # With the bar shown only as needed, a panel of word-wrapped labels at a width where the bar came and
    # went made the scroll area resize the panel recursively until the stack overflowed (a segfault seen
    # in test_panels.py one run in two).  Always shown, the viewport's width never depends on the height.
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QScrollArea
    win = open_window(checkpoint("dcgan"))
    for name, dock in win.docks.items():
        scroll = dock.widget().widget(0)
        assert isinstance(scroll, QScrollArea) and scroll.widget() is win.panels[name]
        assert scroll.verticalScrollBarPolicy() == Qt.ScrollBarAlwaysOn, name
