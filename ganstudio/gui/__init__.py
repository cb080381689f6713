"""The Qt layer: the only package that imports PySide6 / pyqtgraph."""
from ganstudio.gui._refcount_guard import make_singletons_immortal

make_singletons_immortal()
