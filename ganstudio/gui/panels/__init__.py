"""Dock panels, one file each; the window creates them in this order (docks tabify per area)."""
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QTabBar

from ganstudio.gui.panels.analysis import AnalysisPanel
from ganstudio.gui.panels.arithmetic import ArithmeticPanel
from ganstudio.gui.panels.attention import AttentionPanel
from ganstudio.gui.panels.blend_pad import BlendPadPanel
from ganstudio.gui.panels.classes import ClassPanel
from ganstudio.gui.panels.code_map import CodeMapPanel
from ganstudio.gui.panels.directions import DirectionsPanel
from ganstudio.gui.panels.edit_grid import EditGridPanel
from ganstudio.gui.panels.encoder import EncoderPanel
from ganstudio.gui.panels.gallery import GalleryPanel
from ganstudio.gui.panels.interpolation import InterpolationPanel
from ganstudio.gui.panels.latent import LatentPanel
from ganstudio.gui.panels.latent_map import LatentMapPanel
from ganstudio.gui.panels.layers import LayersPanel
from ganstudio.gui.panels.mixing import MixingPanel
from ganstudio.gui.panels.model_card import ModelCardPanel
from ganstudio.gui.panels.noise import NoisePanel
from ganstudio.gui.panels.ppl import PPLPanel
from ganstudio.gui.panels.project import ProjectPanel
from ganstudio.gui.panels.stages import StagePanel
from ganstudio.gui.panels.sweep import SweepPanel
from ganstudio.gui.panels.timeline import TimelinePanel
from ganstudio.gui.panels.transform import TransformPanel
from ganstudio.gui.panels.truncation import TruncationPanel

LEFT, RIGHT = Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea

PANELS = [
    (LatentPanel, LEFT),
    (TruncationPanel, LEFT),
    (ClassPanel, LEFT),
    (BlendPadPanel, LEFT),
    (InterpolationPanel, LEFT),
    (StagePanel, LEFT),
    (EncoderPanel, LEFT),
    (LatentMapPanel, LEFT),
    (ProjectPanel, LEFT),
    (MixingPanel, RIGHT),
    (NoisePanel, RIGHT),
    (TransformPanel, RIGHT),
    (ArithmeticPanel, RIGHT),
    (SweepPanel, RIGHT),
    (AnalysisPanel, RIGHT),
    (EditGridPanel, RIGHT),
    (DirectionsPanel, RIGHT),
    (GalleryPanel, RIGHT),
    (TimelinePanel, RIGHT),
    (AttentionPanel, RIGHT),
    (CodeMapPanel, RIGHT),
    (LayersPanel, RIGHT),
    (PPLPanel, RIGHT),
    (ModelCardPanel, RIGHT),
]


def show_full_tab_titles(window) -> None:
    """Dock tab bars scroll rather than elide titles to "L…" when an area holds many panels."""
    for bar in window.findChildren(QTabBar):
        bar.setElideMode(Qt.ElideNone)
        bar.setUsesScrollButtons(True)
