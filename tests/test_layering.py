"""Qt stays in ganstudio/gui/: models, latent, checkpoints, training and engine never import it."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "ganstudio"
QT = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6")


def _qt_imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for n in names:
            if n.split(".")[0] in QT:
                yield n


def test_no_qt_outside_gui():
    offenders = []
    for py in PKG.rglob("*.py"):
        if "gui" in py.relative_to(PKG).parts:
            continue
        offenders += [f"{py.relative_to(PKG)}: {m}" for m in _qt_imports(py)]
    assert not offenders, "Qt imported outside ganstudio/gui/: " + ", ".join(offenders)


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtCore import QObject\n")
    assert list(_qt_imports(bad)) == ["PySide6.QtCore"]
