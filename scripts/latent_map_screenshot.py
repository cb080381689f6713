"""docs/screenshots/23_latent_map.png: the Latent map panel on a model with an encoder, its data encoded, a point decoded.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/latent_map_screenshot.py fmnist-aae \
        docs/screenshots/23_latent_map.png 0.3 -0.6 2000

Arguments: model, output PNG, the map point to decode (x y), the number of test images to encode.
"""
import io, sys, tempfile, time
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]; sys.path.insert(0, str(ROOT))
import torch
torch.set_num_threads(1)
from PySide6.QtCore import QSettings
QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, tempfile.mkdtemp(prefix="h6-shots-"))
from ganstudio.gui.app import make_application
app = make_application()
from PIL import Image
from ganstudio.engine import Renderer
from ganstudio.gui.main_window import MainWindow
model = sys.argv[1]; out = Path(sys.argv[2]); x, y = float(sys.argv[3]), float(sys.argv[4])

def settle(win, extra=0.4, timeout=600):
    t0 = time.time()
    while time.time() - t0 < timeout:
        app.processEvents()
        if win.app.info is not None and win.displayed_state == win.app.state and win.bridge.worker.idle() and win.jobs.idle():
            break
        time.sleep(0.02)
    t1 = time.time()
    while time.time() - t1 < extra:
        app.processEvents(); time.sleep(0.02)

win = MainWindow(renderer=Renderer("cpu"), model=model)
win.resize(1600, 1000); win.show(); settle(win, 1.0)
win.docks["LatentMapPanel"].raise_(); settle(win, 0.3)
panel = win.panels["LatentMapPanel"]
panel.count.setValue(int(sys.argv[5]) if len(sys.argv) > 5 else 2000)
panel.encode_btn.click()
t0 = time.time()
while panel.map is None or len(panel.map.points) == 0:
    app.processEvents(); time.sleep(0.05)
    if time.time() - t0 > 900: raise SystemExit("encoding timed out")
settle(win, 0.5)
panel.pick(x, y, True)
settle(win, 1.0)
img = win.grab().toImage()
from PySide6.QtCore import QBuffer, QIODevice
qb = QBuffer(); qb.open(QIODevice.WriteOnly); img.save(qb, "PNG")
pil = Image.open(io.BytesIO(bytes(qb.data()))).convert("RGB")
buf = io.BytesIO(); pil.save(buf, "PNG", optimize=True)
if buf.tell() > 500_000:
    buf = io.BytesIO(); pil.quantize(256).save(buf, "PNG", optimize=True)
out.write_bytes(buf.getvalue()); print(out, buf.tell() // 1024, "KB", panel.status.text())
win.close()
