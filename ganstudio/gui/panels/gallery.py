"""Gallery: bookmarks with thumbnails; exports (PNG at any integer scale, grid PNG, GIF/MP4, latents); clipboard."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QSpinBox, QVBoxLayout)

from ganstudio.engine import ModelInfo, export
from ganstudio.engine.export import has_ffmpeg
from ganstudio.engine.latent_files import latent_states
from ganstudio.engine.app_core import Bookmark
from ganstudio.gui.images import to_qimage
from ganstudio.gui.panels._base import Panel


class GalleryPanel(Panel):
    title = "Gallery"

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.bookmark_btn = QPushButton("Bookmark (Ctrl+B)")
        self.remove_btn = QPushButton("Remove")
        row.addWidget(self.bookmark_btn)
        row.addWidget(self.remove_btn)
        lay.addLayout(row)
        self.list = QListWidget()
        self.list.setViewMode(QListWidget.IconMode)
        self.list.setIconSize(QSize(72, 72))
        self.list.setResizeMode(QListWidget.Adjust)
        self.list.setMovement(QListWidget.Static)
        self.list.setMinimumHeight(200)
        lay.addWidget(self.list, 1)
        hint = QLabel("Double-click a bookmark to return to it.")
        lay.addWidget(hint)

        box = QGroupBox("Export")
        g = QGridLayout(box)
        self.scale = QSpinBox()
        self.scale.setRange(1, 64)
        self.scale.setValue(4)
        self.scale.setPrefix("scale ")
        self.scale.setSuffix("×")
        self.png_btn = QPushButton("Image PNG…")
        self.copy_btn = QPushButton("Copy image")
        self.grid_btn = QPushButton("Bookmarks grid PNG…")
        self.frames = QSpinBox()
        self.frames.setRange(2, 240)
        self.frames.setValue(24)
        self.frames.setPrefix("frames/leg ")
        self.gif_btn = QPushButton("Interpolation GIF…")
        self.mp4_btn = QPushButton("Interpolation MP4…")
        self.npy_btn = QPushButton("Latents .npy…")
        self.json_btn = QPushButton("Latents .json…")
        self.import_btn = QPushButton("Import latents…")
        self.import_btn.setToolTip("Bookmark every latent in a .npy, .npz or .json file: z [N, z_dim], "
                                   "ws [N, num_ws, w_dim], or a GAN Studio latents file")
        g.addWidget(self.scale, 0, 0)
        g.addWidget(self.png_btn, 0, 1)
        g.addWidget(self.copy_btn, 0, 2)
        g.addWidget(self.grid_btn, 1, 0, 1, 3)
        g.addWidget(self.frames, 2, 0)
        g.addWidget(self.gif_btn, 2, 1)
        g.addWidget(self.mp4_btn, 2, 2)
        g.addWidget(self.import_btn, 3, 0)
        g.addWidget(self.npy_btn, 3, 1)
        g.addWidget(self.json_btn, 3, 2)
        self.smooth = QCheckBox("Smooth scaling (bilinear, else whole-pixel blocks)")
        g.addWidget(self.smooth, 4, 0, 1, 3)
        lay.addWidget(box)
        self.export_status = QLabel()
        self.export_status.setWordWrap(True)
        lay.addWidget(self.export_status)

        self.bookmark_btn.clicked.connect(self.bookmark_current)
        self.remove_btn.clicked.connect(self._remove_selected)
        self.list.itemDoubleClicked.connect(lambda item: self.restore(self.list.row(item)))
        self.copy_btn.clicked.connect(self.ctx.copy_image)
        self.png_btn.clicked.connect(self.export_png_dialog)
        self.grid_btn.clicked.connect(lambda: self._dialog("Bookmarks grid", "PNG (*.png)", ".png",
                                                           self.export_grid))
        self.gif_btn.clicked.connect(lambda: self._dialog("Interpolation GIF", "GIF (*.gif)", ".gif",
                                                          self.export_animation))
        self.mp4_btn.clicked.connect(lambda: self._dialog("Interpolation MP4", "MP4 (*.mp4)", ".mp4",
                                                          self.export_animation))
        self.npy_btn.clicked.connect(lambda: self._dialog("Latents", "NumPy (*.npy)", ".npy", self.export_latents))
        self.json_btn.clicked.connect(lambda: self._dialog("Latents", "JSON (*.json)", ".json", self.export_latents))
        self.import_btn.clicked.connect(self.import_latents_dialog)
        self.app.bookmarks_changed.connect(self._fill)
        if not has_ffmpeg():
            self.mp4_btn.setToolTip("MP4 needs imageio-ffmpeg: pip install imageio-ffmpeg")

    # -- bookmarks -----------------------------------------------------------------------------
    def bookmark_current(self) -> None:
        self.app.core.bookmark_current(self.ctx.displayed_image(self.state))

    def restore(self, index: int) -> None:
        b = self.app.bookmarks[index]
        if b.state.model == self.state.model:
            self.app.edit(b.state, f"Bookmark {b.name}")
        else:
            self.ctx.open_model(b.state.model, b.state, self.app.bookmarks, f"Bookmark {b.name}")

    def _remove_selected(self) -> None:
        row = self.list.currentRow()
        if row >= 0:
            self.app.remove_bookmark(row)

    def _fill(self) -> None:
        self.list.clear()
        missing = []
        for i, b in enumerate(self.app.bookmarks):
            item = QListWidgetItem(b.name or f"#{i + 1}")
            if b.thumbnail is not None:
                item.setIcon(QIcon(QPixmap.fromImage(to_qimage(b.thumbnail))))
            else:
                missing.append(i)
            self.list.addItem(item)
        if missing and self.supported:
            self._render_thumbnails(missing)

    def _render_thumbnails(self, indices: list[int]) -> None:
        renderer = self.ctx.render
        # A batch renders one model: the others' thumbnails wait until their model is current (model_changed).
        indices = [i for i in indices if self.app.bookmarks[i].state.model == self.state.model]
        if not indices:
            return
        states = [self.app.bookmarks[i].state for i in indices]
        uids = [self.app.bookmarks[i].uid for i in indices]  # a bookmark removed meanwhile gets none

        def done(res):
            if res.image is None:
                return
            self.app.core.set_thumbnails({uid: img for uid, img in zip(uids, res.image)})
        self.run_job("thumbnails", lambda: renderer.render_batch(states), done)

    # -- exports (all off the GUI thread; tests call these with a path) ----------------------------
    def _dialog(self, title: str, filt: str, suffix: str, fn) -> None:
        from ganstudio.gui.settings import settings, text as settings_text
        path, _ = QFileDialog.getSaveFileName(self, title, settings_text("export_dir", ""), filt)
        if path:
            settings().setValue("export_dir", str(Path(path).parent))
            fn(path if path.lower().endswith(suffix) else path + suffix)

    def export_png_dialog(self) -> None:
        self._dialog("Export image", "PNG (*.png)", ".png", self.export_png)

    def _export(self, what: str, path: str, fn, note: str = "") -> None:
        def done(_):
            self.export_status.setText(f"Wrote {path}{note}")
            self.ctx.show_message(f"Exported {what}: {path}{note}", 5000)
        def failed(message):  # a file the user asked for and did not get: say so where they look
            self.export_status.setText(f"Export failed: {path}")
            self.ctx.report_error(f"Could not export {what} to {path}:\n{message}", dialog=True)
        self.export_status.setText(f"Exporting {what}…")
        # One channel per file: exports run in turn, none replaces another.
        self.run_job(f"export:{path}", fn, done, busy=f"Exporting {what}", with_progress=True, on_fail=failed)

    # The work of each export is engine.export's (the command line's too: same inputs, same bytes).
    def export_png(self, path: str, scale: Optional[int] = None) -> None:
        scale = int(scale or self.scale.value())
        renderer, state, smooth = self.ctx.render, self.state, self.smooth.isChecked()
        self._export(f"image at {scale}×", path, lambda progress: export.export_png(renderer, state, path, scale,
                                                                                    progress, smooth))

    def export_grid(self, path: str, scale: Optional[int] = None) -> None:
        """The current model's bookmarks as one PNG grid (a batch renders one model; the gallery spans models)."""
        states = [b.state for b in self.app.bookmarks if b.state.model == self.state.model]
        if not states:
            self.ctx.report_error("Grid export: bookmark some images of this model first", dialog=True)
            return
        others = len(self.app.bookmarks) - len(states)
        note = "" if not others else (" (1 bookmark of another model left out)" if others == 1
                                      else f" ({others} bookmarks of other models left out)")
        scale = int(scale or self.scale.value())
        renderer, smooth = self.ctx.render, self.smooth.isChecked()
        self._export("bookmarks grid", path, lambda progress: export.export_grid(
            renderer, states, path, scale, progress=progress, smooth=smooth), note)

    def export_animation(self, path: str, frames_per_leg: Optional[int] = None) -> None:
        """GIF (pillow, always) or MP4 (needs imageio-ffmpeg) slerping through the bookmarks and back."""
        if path.lower().endswith(".mp4") and not has_ffmpeg():
            self.ctx.report_error("MP4 export needs the imageio-ffmpeg package (pip install imageio-ffmpeg); "
                                  "GIF export works without it.", dialog=True)
            return
        stops = [b.state for b in self.app.bookmarks if b.state.model == self.state.model]
        if len(stops) < 2:
            self.ctx.report_error("Interpolation export: bookmark at least two images of this model", dialog=True)
            return
        n, scale = int(frames_per_leg or self.frames.value()), self.scale.value()
        renderer, current, smooth = self.ctx.render, self.state, self.smooth.isChecked()
        self._export(f"{Path(path).suffix[1:].upper()} animation", path,
                     lambda progress: export.export_animation(renderer, stops, current, path, n, scale, loop=True,
                                                              progress=progress, smooth=smooth))

    def export_latents(self, path: str) -> None:
        """The exact (z, c, ws) of the current image: .npy holds ws [num_ws, w_dim]; .json holds all and the state."""
        renderer, state = self.ctx.render, self.state
        self._export("latents", path, lambda progress: export.export_latents(renderer, state, path, progress))

    # -- import ---------------------------------------------------------------------------------
    def import_latents_dialog(self) -> None:
        from ganstudio.gui.settings import settings, text as settings_text
        path, _ = QFileDialog.getOpenFileName(self, "Import latents", settings_text("export_dir", ""),
                                              "Latents (*.npy *.npz *.json);;All files (*)")
        if path:
            settings().setValue("export_dir", str(Path(path).parent))
            self.import_latents(path)

    def import_latents(self, path: str) -> None:
        """Bookmark each latent of a file, on the current model and settings.

        The file is read and every state rendered off the GUI thread before anything is added, so a
        wrong shape, NaN or a state the model cannot render is one error dialog and no bookmark.
        """
        if not self.supported or self.info is None:
            return
        info, base, renderer, name = self.info, self.state, self.ctx.render, Path(path).name
        if info.capabilities.truncation == "z" and info.capabilities.z_truncation == "resample":
            # A file's z is final (Latents .npy writes it truncated and edited): clipping it again to the
            # threshold would cut an edit back.  (A scaled truncation keeps t: it picks the statistics.)
            base = base.replace(z_threshold=None)

        def work(progress):
            states = latent_states(path, base, info.z_dim, info.num_ws, info.w_dim, info.capabilities.style_layers)
            thumbs: list = []
            for start in range(0, len(states), 16):
                res = renderer.render_batch(states[start:start + 16])
                if res.image is None:
                    raise ValueError(f"{name}: {res.error}")
                thumbs += list(res.image)
                progress(len(thumbs) / len(states))
            return states, thumbs

        def done(result):
            states, thumbs = result
            many = len(states) > 1
            self.app.core.add_bookmarks([Bookmark(s, t, f"{name} [{i}]" if many else name)
                                         for i, (s, t) in enumerate(zip(states, thumbs))])
            msg = f"Imported {len(states)} latent{'s' if many else ''} from {name} as bookmarks"
            self.export_status.setText(msg)
            self.ctx.show_message(msg, 5000)

        def failed(message: str):
            self.export_status.setText("")
            self.ctx.report_error(f"Import latents: {message}", dialog=True)
        self.export_status.setText(f"Importing {name}…")
        self.ctx.jobs.submit(f"GalleryPanel:import:{path}", work, done, failed, f"Importing {name}", True)

    def model_changed(self, info: ModelInfo) -> None:
        self._fill()
