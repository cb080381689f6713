"""Screenshots of the explorer with each panel in use, for docs/screenshots/.

Run under a virtual X server:
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py
Each shot uses a shipped model (pretrained/) whose capabilities fit the panel; where none
fits, a small UNTRAINED model built here (the script prints which model each shot used, and
the captions in docs/screenshots/README.md say so).
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = Path(os.environ.get("GANSTUDIO_SHOTS_OUT", ROOT / "docs" / "screenshots"))
MAX_BYTES = 500_000

torch.set_num_threads(2)


def untrained_checkpoint(folder: Path, name: str, **config) -> str:
    """A small untrained model; noise strengths set to a trained-like 0.5 so noise edits are visible."""
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator
    torch.manual_seed(1)
    G = create_generator(name, **config)
    with torch.no_grad():
        for n, p in G.named_parameters():
            if n.endswith("noise_strength"):
                p.fill_(0.5)
    path = folder / f"{name}-untrained.safetensors"
    save_checkpoint(path, G)
    return str(path)


def write_real_image(path: Path, info) -> bool:
    """A Fashion-MNIST test image as the encoder's input, if the data set is on this machine."""
    if info.channels != 1:
        return False
    try:
        from ganstudio.training.data import SYSTEM_DATA_DIRS, load_idx_pair
        images, _ = load_idx_pair(SYSTEM_DATA_DIRS["fashion-mnist"], "test", limit=8)
    except Exception:  # no data set here: the caller renders a stand-in
        return False
    import numpy as np
    from PIL import Image
    img = np.pad(images[1, 0].numpy(), 2)  # a pullover, padded 28 -> 32 as in training
    Image.fromarray(img, "L").save(path)
    return True


def main() -> int:
    from PySide6.QtCore import QSettings
    settings_dir = tempfile.mkdtemp(prefix="ganstudio-shots-")
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, settings_dir)  # leave the user's settings alone

    from ganstudio.gui.app import make_application
    app = make_application()
    from PIL import Image

    from ganstudio.engine import Renderer, RenderState
    from ganstudio.gui.main_window import MainWindow
    from ganstudio.pretrained import default_model, list_pretrained

    def settle(win, extra: float = 0.4, timeout: float = 60) -> None:
        t0 = time.time()
        while time.time() - t0 < timeout:
            app.processEvents()
            if (win.app.info is not None and win.displayed_state == win.app.state and win.bridge.worker.idle()
                    and win.jobs.idle()):
                break
            time.sleep(0.02)
        t1 = time.time()
        while time.time() - t1 < extra:
            app.processEvents()
            time.sleep(0.02)

    def shot(win, name: str) -> None:
        settle(win)
        img = win.grab().toImage()
        buf = io.BytesIO()
        from PySide6.QtCore import QBuffer, QIODevice
        qb = QBuffer()
        qb.open(QIODevice.WriteOnly)
        img.save(qb, "PNG")
        pil = Image.open(io.BytesIO(bytes(qb.data()))).convert("RGB")
        pil.save(buf, "PNG", optimize=True)
        if buf.tell() > MAX_BYTES:  # a palette keeps UI screenshots small without visible loss
            buf = io.BytesIO()
            pil.quantize(256).save(buf, "PNG", optimize=True)
        (OUT / f"{name}.png").write_bytes(buf.getvalue())
        print(f"{name}.png  {buf.tell() // 1024} KB")

    def raise_dock(win, name: str) -> None:
        win.docks[name].raise_()
        settle(win, 0.2)

    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ganstudio-models-"))
    probe = Renderer("cpu")
    shipped = [(e["name"], probe.load(e["name"])) for e in list_pretrained()]

    def pick(want, make_untrained, prefer: str = "") -> str:
        """The first shipped model whose capabilities pass ``want`` (names containing ``prefer``
        first), else an untrained one."""
        for name, info in sorted(shipped, key=lambda e: prefer not in e[0] if prefer else 0):
            if want(info):
                return name
        return make_untrained()

    style_model = pick(lambda i: i.capabilities.style_layers and i.capabilities.noise_layers,
                       lambda: untrained_checkpoint(tmp, "stylegan2", z_dim=128, w_dim=128, img_resolution=64,
                                                    mapping_layers=4, channel_base=4096, channel_max=64),
                       prefer="shapes-")  # colour shows what each layer range controls
    class_model = pick(lambda i: i.capabilities.classes and i.c_dim > 1,
                       lambda: untrained_checkpoint(tmp, "biggan", img_resolution=32), prefer="sngan")
    card_model = default_model() or style_model
    # Blend pad, vector arithmetic and gallery: an unconditional DCGAN, as in Radford et al.'s figures.
    general_model = pick(lambda i: i.model_name == "dcgan" and not i.c_dim, lambda: card_model, prefer="fmnist-")
    stage_model = pick(lambda i: i.capabilities.progressive,
                       lambda: untrained_checkpoint(tmp, "progan", img_resolution=32, channel_base=2048,
                                                    channel_max=128))
    attention_model = pick(lambda i: i.capabilities.attention,
                           lambda: untrained_checkpoint(tmp, "sagan", img_resolution=32))
    encoder_model = pick(lambda i: i.capabilities.encoder, lambda: untrained_checkpoint(tmp, "vae"))
    for what, m in (("style", style_model), ("general", general_model), ("class", class_model), ("card", card_model),
                    ("stages", stage_model), ("attention", attention_model), ("encoder", encoder_model)):
        print(f"{what:10s} {m}")

    win = MainWindow(renderer=Renderer("cpu"), model=style_model)
    win.resize(1600, 1000)
    win.show()
    settle(win, 1.0)

    # Latent: directions computed and two sliders moved, one raw z dimension.
    latent = win.panels["LatentPanel"]
    latent.seed.setValue(7)
    latent.compute_btn.click()
    settle(win)
    latent.dir_sliders[0].set_value(2.5)
    latent.dir_sliders[2].set_value(-1.5)
    latent.z_sliders[1].set_value(1.2)
    raise_dock(win, "MixingPanel")
    shot(win, "01_latent_directions")

    # Truncation with its sample row.
    raise_dock(win, "TruncationPanel")
    latent.reset_btn.click()
    trunc = win.panels["TruncationPanel"]
    trunc.psi.set_value(0.5)
    trunc.refresh()
    shot(win, "02_truncation")

    # Style mixing grid + per-layer sources.
    mixing = win.panels["MixingPanel"]
    raise_dock(win, "MixingPanel")
    mixing.grid_preset.setCurrentText("coarse")
    mixing.refresh()
    settle(win)
    mixing.click_cell(1, 2)
    shot(win, "03_style_mixing")

    # Noise: some layers off, strength up.
    raise_dock(win, "NoisePanel")
    noise = win.panels["NoisePanel"]
    noise.set_all("fixed")
    noise.set_mode(0, "off")
    noise.set_mode(1, "random")
    noise.strength.set_value(1.8)
    shot(win, "04_noise")

    # Direction sweep: rows of GANSpace directions in w, strengths left to right, around seed 7.
    win.app.edit(RenderState(model=win.app.state.model, seed=7), "Reset")
    raise_dock(win, "SweepPanel")
    sweep = win.panels["SweepPanel"]
    sweep.method.setCurrentIndex(sweep.method.findData(os.environ.get("GANSTUDIO_SHOTS_SWEEP", "pca")))
    sweep.rows.setValue(6)
    sweep.steps.setValue(7)
    sweep.strength.set_value(4.0)
    sweep.refresh()
    settle(win)
    raise_dock(win, "LatentPanel")
    shot(win, "14_direction_sweep")

    # The panels that work with any model show a trained one when one is shipped.
    if general_model != style_model:
        win.open_model(general_model)
        settle(win, 1.0)
        raise_dock(win, "ModelCardPanel")

    # Blend pad.
    raise_dock(win, "BlendPadPanel")
    pad = win.panels["BlendPadPanel"]
    pad.refresh()
    pad.blend(0.3, 0.65)
    shot(win, "05_blend_pad")

    # Vector arithmetic: bins filled, result and variations.
    raise_dock(win, "ArithmeticPanel")
    arith = win.panels["ArithmeticPanel"]
    arith.refresh()
    settle(win)
    for b, cells in {0: [0, 1], 1: [4], 2: [7, 9]}.items():
        for i in cells:
            arith.add_to_bin(b, arith.sample_seeds()[i])
    arith.compute()
    settle(win)
    shot(win, "06_vector_arithmetic")

    # Gallery with bookmarks, and interpolation between two of them.
    raise_dock(win, "GalleryPanel")
    for seed in (3, 11, 19, 27):
        latent.seed.setValue(seed)
        settle(win)
        win.panels["GalleryPanel"].bookmark_current()
    raise_dock(win, "InterpolationPanel")
    interp = win.panels["InterpolationPanel"]
    interp.combo_a.setCurrentIndex(0)
    interp.combo_b.setCurrentIndex(2)
    settle(win)
    interp.t.set_value(0.4)
    shot(win, "07_gallery_interpolation")

    # Class panel on a conditional model; style panels disable themselves.
    win.open_model(class_model)
    settle(win, 1.0)
    raise_dock(win, "ClassPanel")
    cls = win.panels["ClassPanel"]
    cls.class_a.setCurrentIndex(0)
    cls.class_b.setCurrentIndex(2)
    cls.t.set_value(0.35)
    raise_dock(win, "MixingPanel")
    shot(win, "08_class_blend_and_gating")

    # Model card of the default model.
    win.open_model(card_model)
    settle(win, 1.0)
    raise_dock(win, "ModelCardPanel")
    raise_dock(win, "LatentPanel")
    shot(win, "10_model_card")

    # Progressive GAN: the previous stage, and the strip of every stage.
    win.open_model(stage_model)
    settle(win, 1.0)
    raise_dock(win, "StagePanel")
    stages = win.panels["StagePanel"]
    win.panels["LatentPanel"].seed.setValue(4)
    settle(win)
    stages.set_stage(win.app.info.num_stages - 2, 1.0)
    stages.refresh()
    raise_dock(win, "ModelCardPanel")
    shot(win, "11_progan_stages")

    # Attention: a query on the image and where it looks.
    win.open_model(attention_model)
    settle(win, 1.0)
    raise_dock(win, "AttentionPanel")
    att = win.panels["AttentionPanel"]
    att.refresh()
    settle(win)
    att.set_query(0.4, 0.3)
    raise_dock(win, "ClassPanel")
    shot(win, "12_attention")

    # Encoder: a real Fashion-MNIST test image (padded to 32 px like the training data), else a rendered one.
    win.open_model(encoder_model)
    settle(win, 1.0)
    raise_dock(win, "EncoderPanel")
    real = tmp / "real.png"
    if not write_real_image(real, win.app.info):
        Image.fromarray(probe.render(RenderState(model=class_model, seed=3)).image.squeeze()).save(real)
    win.panels["EncoderPanel"].encode_file(str(real))
    settle(win)
    win.panels["EncoderPanel"].refresh()
    raise_dock(win, "ModelCardPanel")
    shot(win, "13_encoder")

    # Help > Keyboard shortcuts (with an empty undo stack the entry reads "Undo", not "Undo <last edit>").
    win.app.undo_stack.clear()
    win.show_shortcuts()
    win.shortcuts_dialog.move(win.geometry().center() - win.shortcuts_dialog.rect().center())
    settle(win, 0.3)
    img = win.shortcuts_dialog.grab()
    img.save(str(OUT / "09_shortcuts.png"))
    print("09_shortcuts.png")
    win.shortcuts_dialog.close()
    win.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
