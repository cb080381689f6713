"""Layering: Qt stays in ganstudio/gui/ (models, latent, checkpoints, training and engine never import it), panels
go through their context, functions stay short."""
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


# -- functions stay short: no function or method in the package over MAX_FUNCTION_LINES --------------------

MAX_FUNCTION_LINES = 80


def _long_functions(path: Path, limit: int = MAX_FUNCTION_LINES):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            lines = node.end_lineno - first + 1
            if lines > limit:
                yield f"{node.name} ({lines} lines)"


def test_no_function_over_80_lines():
    offenders = [f"{py.relative_to(PKG)}: {f}" for py in sorted(PKG.rglob("*.py")) for f in _long_functions(py)]
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines (split them by concern): " + ", ".join(offenders)


def test_the_length_check_can_fail(tmp_path):
    long = tmp_path / "long.py"
    long.write_text("class A:\n    def f(self):\n" + "        x = 1\n" * 80 + "\n\ndef g():\n    pass\n")
    assert list(_long_functions(long)) == ["f (81 lines)"]


# -- panels are handed a context: they never import the window nor look another panel up by name ----------

def _window_reach(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("main_window"):
            yield f"imports {node.module}"
        elif isinstance(node, ast.Import):
            yield from (f"imports {a.name}" for a in node.names if a.name.endswith("main_window"))
        elif isinstance(node, ast.Attribute) and node.attr in ("panels", "main_window"):
            yield f".{node.attr}"


def test_panels_reach_neither_the_window_nor_each_other():
    offenders = [f"{py.relative_to(PKG)}: {r}" for py in sorted((PKG / "gui" / "panels").glob("*.py"))
                 for r in _window_reach(py)]
    assert not offenders, "panels must go through their context: " + ", ".join(offenders)


def test_the_panel_check_can_fail(tmp_path):
    bad = tmp_path / "bad_panel.py"
    bad.write_text("from ganstudio.gui.main_window import MainWindow\n"
                   "def f(self):\n    return self.ctx.panels['GalleryPanel']\n")
    assert sorted(_window_reach(bad)) == [".panels", "imports ganstudio.gui.main_window"]
