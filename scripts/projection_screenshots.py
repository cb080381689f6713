"""docs/screenshots/18_projection_progress.png and 19_projected_style_mix.png: the Project panel part-way through
projecting a Fashion-MNIST test image (never seen in training) into fmnist-stylegan2's w+; then a fresh
shapes-upright render (a heart) projected into shapes-stylegan2 and style-mixed (its middle, 16 px layers, which
carry this model's background colour, from seed 23).

    QT_QPA_PLATFORM=offscreen python scripts/projection_screenshots.py [TEST_IMAGE STEPS [SHAPE_IMAGE SEED PRESET]]
"""
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from _window_shot import open_window, save_grab  # noqa: E402

torch.set_num_threads(1)
index = int(sys.argv[1]) if len(sys.argv) > 1 else 12
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 300
mix_index, mix_seed, mix_preset = ((int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]) if len(sys.argv) > 5
                                   else (1, 23, "middle"))
OUT = ROOT / "docs" / "screenshots"


def fresh_shape(i: int) -> str:
    """Image ``i`` of a shapes-upright stream no shipped model trained on, as a 64 px PNG."""
    from ganstudio.training.data import make_dataset
    ds = make_dataset(f"shapes-upright:{i + 1}:20261207", 64, 3, split="train")
    path = Path(tempfile.mkdtemp(prefix="ganstudio-shot-")) / f"fresh_shape_{i}.png"
    Image.fromarray(ds.images[i].permute(1, 2, 0).numpy()).save(path)
    return str(path)


def test_image(i: int) -> str:
    """Fashion-MNIST test image ``i`` as a 28 px PNG, as a user would have it."""
    from ganstudio.training.data import make_dataset
    ds = make_dataset("fashion-mnist", 28, 1, split="test", limit=i + 1)
    path = Path(tempfile.mkdtemp(prefix="ganstudio-shot-")) / f"fashion_mnist_test_{i}.png"
    Image.fromarray(ds.images[i, 0].numpy()).save(path)
    return str(path)


app, win, wait = open_window("fmnist-stylegan2", seed=4)
panel = win.panels["ProjectPanel"]
if index >= 0:  # a negative TEST_IMAGE makes only the style-mixing shot
    win.docks["ProjectPanel"].raise_()
    panel.open_image(test_image(index))
    panel.steps.setValue(steps)
    seen = []
    panel._live.connect(lambda run, step, loss, image: seen.append(step))
    panel.run_btn.click()
    wait(lambda: seen and seen[-1] >= steps * 2 // 5)
    save_grab(win, OUT / "18_projection_progress.png")
    wait(lambda: panel.result is not None)
    print(f"projected: {panel.status.text()}")

# A fresh shapes-upright render (a seed no model trained on) projected into shapes-stylegan2, then its middle
# layers (the background's colour, in this model) taken from a seed: the projected heart keeps its form.
win.open_model("shapes-stylegan2")
wait(lambda: win.app.info is not None and win.displayed_state == win.app.state and win.jobs.idle())
win.docks["ProjectPanel"].raise_()
panel.open_image(fresh_shape(mix_index))
panel.steps.setValue(steps)
panel.run_btn.click()
wait(lambda: panel.result is not None)
print(f"projected: {panel.status.text()}")
mixing = win.panels["MixingPanel"]
win.docks["MixingPanel"].raise_()
mixing.mix_seeds_edit.setText(f"{mix_seed}, 21")
mixing.mix_seeds_edit.editingFinished.emit()
mixing.preset_source.setCurrentIndex(0)
mixing.apply_preset(mix_preset)
mixing.grid_preset.setCurrentText(mix_preset)
mixing.refresh()
wait(lambda: win.displayed_state == win.app.state and win.jobs.idle())
save_grab(win, OUT / "19_projected_style_mix.png")
print("state:", win.app.state.mix_seeds, win.app.state.mix_sources)
win.shutdown()
