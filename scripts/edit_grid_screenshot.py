"""docs/screenshots/22_edit_grid.png: the Edit grid panel (8 seeds, before / after) following SeFa #3 at +3 on
shapes-stylegan2.

    QT_QPA_PLATFORM=offscreen python scripts/edit_grid_screenshot.py [MODEL METHOD INDEX ALPHA [OUT]]
"""
import io, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from PySide6.QtCore import QSettings, QBuffer, QIODevice
QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp(prefix="h5shot-"))
from ganstudio.gui.app import make_application
app = make_application()
from PIL import Image
from ganstudio.engine import Renderer
from ganstudio.gui.main_window import MainWindow

def wait_until(cond, timeout=120.0, then=0.5):
    """Run the event loop until cond() holds (or timeout), then a little longer for the last paint."""
    end = time.time() + timeout
    while time.time() < end and not cond():
        app.processEvents()
        time.sleep(0.03)
    end = time.time() + then
    while time.time() < end:
        app.processEvents()
        time.sleep(0.03)


def idle(win):
    return win.app.info is not None and win.displayed_state == win.app.state and win.jobs.idle()


def settle(win, extra=0.5):
    wait_until(lambda: idle(win), then=extra)


model = sys.argv[1] if len(sys.argv) > 1 else "shapes-stylegan2"
method, index, alpha = (sys.argv[2], int(sys.argv[3]), float(sys.argv[4])) if len(sys.argv) > 4 else ("sefa", 3, 3.0)
win = MainWindow(renderer=Renderer("cpu"), model=model)
win.resize(1600, 1000); win.show(); settle(win, 1.0)
lat = win.panels["LatentPanel"]
lat.seed.setValue(3); settle(win)
lat.method.setCurrentIndex(lat.method.findData(method))
lat.compute_btn.click(); settle(win, 1.0)
s = lat.dir_sliders[index]
s.slider.setValue(s._to_pos(alpha)); win.app.end_gesture(); settle(win)
win.docks["EditGridPanel"].raise_(); settle(win, 0.3)
grid = win.panels["EditGridPanel"]
grid.count.setValue(8); grid.before.setChecked(True)
wait_until(lambda: len(grid.shown_states) == 16 and grid.shown_states[-1].edits == win.app.state.edits and idle(win),
           then=0.8)
img = win.grab().toImage()
qb = QBuffer(); qb.open(QIODevice.WriteOnly); img.save(qb, "PNG")
pil = Image.open(io.BytesIO(bytes(qb.data()))).convert("RGB")
out = Path(sys.argv[5]) if len(sys.argv) > 5 else ROOT / "docs" / "screenshots" / "22_edit_grid.png"
buf = io.BytesIO(); pil.quantize(256).save(buf, "PNG", optimize=True); out.write_bytes(buf.getvalue())
print(out, buf.tell() // 1024, "KB", win.app.state.edits)
win.shutdown()
