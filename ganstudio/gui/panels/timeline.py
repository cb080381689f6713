"""Timeline: keyframes from the current state or bookmarks, per-segment length / easing / path, loop, seed
drift, loop walk; Play in the window; export MP4 / GIF / PNG frames (progress, cancel); save and load.

The frames are engine.timeline's and the files engine.export's, as `ganstudio export TIMELINE.json`
writes them: the same timeline gives the same bytes from the window and the command line.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QGridLayout,
                               QHBoxLayout, QLabel, QListWidget, QProgressBar, QPushButton, QSpinBox, QVBoxLayout)

from ganstudio.engine import ModelInfo, RenderState, export
from ganstudio.engine.app_core import StateChange
from ganstudio.engine.jobs import JobCancelled
from ganstudio.engine.timeline import (EASINGS, INTERPS, MAX_FPS, MAX_FRAMES, Drift, Key, LoopWalk, Timeline,
                                       TimelineError, load_timeline, save_timeline)
from ganstudio.gui.panels._base import Panel
from ganstudio.gui.settings import settings, text as settings_text


class TimelinePanel(Panel):
    title = "Timeline"
    preview_fields = frozenset()
    sync_fields = frozenset()

    def __init__(self, ctx, parent=None):
        super().__init__(ctx, parent)
        self.timeline = Timeline()
        self._frames: list[RenderState] = []  # Play's frames, computed off the GUI thread
        self._frame = 0
        self._played: Optional[RenderState] = None
        self._cancel = False
        self._export_channel = ""
        lay = QVBoxLayout(self)
        self._build_keys(lay)
        self._build_segment(lay)
        self._build_timeline(lay)
        self._build_actions(lay)
        lay.addStretch(1)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.app.bookmarks_changed.connect(self._fill_bookmarks)
        self.app.state_changed.connect(self._stop_if_changed_elsewhere)
        self.ctx.jobs.progress.connect(self._progress)
        self._show_keys()

    # -- widgets -------------------------------------------------------------------------------
    def _build_keys(self, lay) -> None:
        self.keys_list = QListWidget()
        self.keys_list.setMaximumHeight(120)
        lay.addWidget(self.keys_list)
        grid = QGridLayout()
        self.add_current_btn = QPushButton("Add current")
        self.bookmark_combo = QComboBox()
        self.add_bookmark_btn = QPushButton("Add bookmark")
        self.up_btn, self.down_btn, self.remove_btn = QPushButton("Up"), QPushButton("Down"), QPushButton("Remove")
        grid.addWidget(self.add_current_btn, 0, 0)
        grid.addWidget(self.bookmark_combo, 0, 1)
        grid.addWidget(self.add_bookmark_btn, 0, 2)
        grid.addWidget(self.up_btn, 1, 0)
        grid.addWidget(self.down_btn, 1, 1)
        grid.addWidget(self.remove_btn, 1, 2)
        lay.addLayout(grid)
        self.add_current_btn.clicked.connect(self.add_current)
        self.add_bookmark_btn.clicked.connect(lambda: self.add_bookmark(self.bookmark_combo.currentIndex()))
        self.up_btn.clicked.connect(lambda: self.move_key(self.keys_list.currentRow(), -1))
        self.down_btn.clicked.connect(lambda: self.move_key(self.keys_list.currentRow(), 1))
        self.remove_btn.clicked.connect(lambda: self.remove_key(self.keys_list.currentRow()))
        self.keys_list.currentRowChanged.connect(self._show_segment)

    def _build_segment(self, lay) -> None:
        form = QFormLayout()
        self.frames_spin = QSpinBox()
        self.frames_spin.setRange(1, MAX_FRAMES)
        self.frames_spin.setSuffix(" frames")
        self.frames_spin.setValue(24)  # one second at the default rate; new keys take what this shows
        self.easing = QComboBox()
        self.easing.addItems(list(EASINGS))
        self.interp = QComboBox()
        self.interp.addItems(list(INTERPS))
        form.addRow("Segment length", self.frames_spin)
        form.addRow("Easing", self.easing)
        form.addRow("Path (per layer in w+)", self.interp)
        lay.addLayout(form)
        self.frames_spin.valueChanged.connect(lambda v: self.set_segment(frames=int(v)))
        self.easing.currentTextChanged.connect(lambda v: self.set_segment(easing=v))
        self.interp.currentTextChanged.connect(lambda v: self.set_segment(interp=v))

    def _build_timeline(self, lay) -> None:
        form = QFormLayout()
        self.fps = QSpinBox()
        self.fps.setRange(1, MAX_FPS)
        self.fps.setValue(24)
        self.loop = QCheckBox("Loop (the last key returns to the first)")
        self.loop.setChecked(True)
        drift_row = QHBoxLayout()
        self.drift = QDoubleSpinBox()
        self.drift.setRange(0.0, 3.14)
        self.drift.setSingleStep(0.05)
        self.drift.setSuffix(" rad")
        self.drift_seed = QSpinBox()
        self.drift_seed.setRange(0, 2 ** 31 - 1)
        self.drift_seed.setPrefix("seed ")
        drift_row.addWidget(self.drift)
        drift_row.addWidget(self.drift_seed)
        walk_row = QHBoxLayout()
        self.walk_frames = QSpinBox()
        self.walk_frames.setRange(0, MAX_FRAMES)
        self.walk_frames.setSpecialValueText("off")
        self.walk_frames.setSuffix(" frames")
        self.walk_seed = QSpinBox()
        self.walk_seed.setRange(0, 2 ** 31 - 1)
        self.walk_seed.setPrefix("seed ")
        walk_row.addWidget(self.walk_frames)
        walk_row.addWidget(self.walk_seed)
        form.addRow("Frames per second", self.fps)
        form.addRow(self.loop)
        form.addRow("Seed drift", drift_row)
        form.addRow("Loop walk (from key 1)", walk_row)
        lay.addLayout(form)
        for w in (self.fps, self.drift_seed, self.walk_frames, self.walk_seed):
            w.valueChanged.connect(lambda _=None: self._read_settings())
        self.drift.valueChanged.connect(lambda _=None: self._read_settings())
        self.loop.toggled.connect(lambda _=None: self._read_settings())

    def _build_actions(self, lay) -> None:
        row = QHBoxLayout()
        self.play_btn = QPushButton("▶ Play")
        self.play_btn.setCheckable(True)
        self.save_btn, self.load_btn = QPushButton("Save…"), QPushButton("Load…")
        row.addWidget(self.play_btn)
        row.addWidget(self.save_btn)
        row.addWidget(self.load_btn)
        lay.addLayout(row)
        erow = QHBoxLayout()
        self.scale = QSpinBox()
        self.scale.setRange(1, 64)
        self.scale.setPrefix("×")
        self.mp4_btn, self.gif_btn = QPushButton("MP4…"), QPushButton("GIF…")
        self.png_btn = QPushButton("PNG frames…")
        erow.addWidget(QLabel("Export"))
        erow.addWidget(self.scale)
        for b in (self.mp4_btn, self.gif_btn, self.png_btn):
            erow.addWidget(b)
        lay.addLayout(erow)
        prow = QHBoxLayout()
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setEnabled(False)
        prow.addWidget(self.bar, 1)
        prow.addWidget(self.cancel_btn)
        lay.addLayout(prow)
        self.status = QLabel("Add keys: the current state or bookmarks.")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.play_btn.toggled.connect(self.play)
        self.save_btn.clicked.connect(lambda: self._file_dialog(True))
        self.load_btn.clicked.connect(lambda: self._file_dialog(False))
        self.mp4_btn.clicked.connect(lambda: self._export_dialog("MP4 (*.mp4)", ".mp4"))
        self.gif_btn.clicked.connect(lambda: self._export_dialog("GIF (*.gif)", ".gif"))
        self.png_btn.clicked.connect(lambda: self._export_dialog("", ""))
        self.cancel_btn.clicked.connect(self.cancel_export)

    # -- keys ----------------------------------------------------------------------------------
    def _fill_bookmarks(self) -> None:
        with self.quiet():
            keep = self.bookmark_combo.currentIndex()
            self.bookmark_combo.clear()
            for i, b in enumerate(self.app.bookmarks):
                self.bookmark_combo.addItem(b.name or f"#{i + 1}  seed {b.state.seed}")
            self.bookmark_combo.setCurrentIndex(min(max(keep, 0), self.bookmark_combo.count() - 1))

    def _add(self, state: RenderState, name: str) -> None:
        if self.timeline.keys and state.model != self.timeline.model:
            self.status.setText("A timeline renders one model: this key is of another model than key 1.")
            return
        self.set_timeline(replace(self.timeline, keys=self.timeline.keys + (Key(state, self.frames_spin.value(),
                                                                                self.easing.currentText(),
                                                                                self.interp.currentText(), name),)))
        self.keys_list.setCurrentRow(len(self.timeline.keys) - 1)

    def add_current(self) -> None:
        self._add(self.state, f"seed {self.state.seed}" if self.state.z is None and self.state.ws is None
                  else "current")

    def add_bookmark(self, index: int) -> None:
        if 0 <= index < len(self.app.bookmarks):
            b = self.app.bookmarks[index]
            self._add(b.state, b.name or f"bookmark #{index + 1}")

    def move_key(self, row: int, by: int) -> None:
        keys = list(self.timeline.keys)
        if 0 <= row < len(keys) and 0 <= row + by < len(keys):
            keys[row], keys[row + by] = keys[row + by], keys[row]
            self.set_timeline(replace(self.timeline, keys=tuple(keys)))
            self.keys_list.setCurrentRow(row + by)

    def remove_key(self, row: int) -> None:
        keys = list(self.timeline.keys)
        if 0 <= row < len(keys):
            del keys[row]
            self.set_timeline(replace(self.timeline, keys=tuple(keys)))
            self.keys_list.setCurrentRow(min(row, len(keys) - 1))

    def set_segment(self, **changes) -> None:
        """Set the selected key's segment (frames, easing, interp)."""
        row = self.keys_list.currentRow()
        keys = list(self.timeline.keys)
        if 0 <= row < len(keys):
            keys[row] = replace(keys[row], **changes)
            self.set_timeline(replace(self.timeline, keys=tuple(keys)), keep_row=True)

    def _read_settings(self) -> None:
        self.set_timeline(replace(self.timeline, fps=self.fps.value(), loop=self.loop.isChecked(),
                                  drift=Drift(round(self.drift.value(), 6), self.drift_seed.value()),
                                  walk=LoopWalk(self.walk_frames.value(), self.walk_seed.value())), keep_row=True)

    def set_timeline(self, tl: Timeline, keep_row: bool = False) -> None:
        self.timeline = tl
        self._frames = []  # Play recomputes them
        self._show_keys(keep_row)

    def _show_keys(self, keep_row: bool = False) -> None:
        tl, row = self.timeline, self.keys_list.currentRow()
        with self.quiet():
            self.keys_list.clear()
            for i, k in enumerate(tl.keys):
                leg = i < len(tl.keys) - 1 or tl.loop
                what = f"{k.frames} f = {k.frames / tl.fps:.2f} s, {k.easing}, {k.interp}" if leg else "end"
                self.keys_list.addItem(f"{i + 1}. {k.name or 'key'} — {what}")
            self.fps.setValue(tl.fps)
            self.loop.setChecked(tl.loop)
            self.drift.setValue(tl.drift.amount)
            self.drift_seed.setValue(tl.drift.seed)
            self.walk_frames.setValue(tl.walk.frames)
            self.walk_seed.setValue(tl.walk.seed)
            if keep_row and 0 <= row < len(tl.keys):
                self.keys_list.setCurrentRow(row)
        n = tl.frame_count()
        self.status.setText(f"{len(tl.keys)} keys, {n} frames = {n / tl.fps:.2f} s at {tl.fps} fps"
                            + (", looping" if tl.loop or tl.walk.frames else ""))

    def _show_segment(self, row: int) -> None:
        if 0 <= row < len(self.timeline.keys):
            k = self.timeline.keys[row]
            with self.quiet():
                self.frames_spin.setValue(k.frames)
                self.easing.setCurrentText(k.easing)
                self.interp.setCurrentText(k.interp)

    # -- play ----------------------------------------------------------------------------------
    def _compute(self, on_done) -> bool:
        """Compute Play's frames off the GUI thread; False (and a note why) when there is nothing to play."""
        tl, renderer = self.timeline, self.ctx.render
        if len(tl.keys) < (1 if tl.walk.frames else 2):
            self.status.setText("Add at least two keys (or one key and a loop walk) to play.")
            return False
        if tl.model != self.state.model:
            self.status.setText("The timeline's keys are of another model: open it first.")
            return False

        def failed(message: str) -> None:
            self.status.setText(f"Timeline: {message}")
            self.play_btn.setChecked(False)
        self.run_job("frames", lambda: list(tl.frames(renderer)), on_done, on_fail=failed)
        return True

    def play(self, on: bool) -> None:
        self.play_btn.setText("■ Stop" if on else "▶ Play")
        if not on:
            self.timer.stop()
            self.app.end_gesture()
            return
        self.timer.setInterval(max(1, round(1000 / self.timeline.fps)))

        def start(frames):
            if self.play_btn.isChecked():
                self._frames, self._frame, self._played = frames, 0, None
                self.timer.start()
        if self._frames:
            start(self._frames)
        elif not self._compute(start):
            self.play_btn.setChecked(False)

    def _tick(self) -> None:
        """Next frame once the last one is on screen: at the fps, or the render rate when that is slower.
        (Frames less than 0.1 s apart are a drag to the render service: a large model may show previews.)"""
        shown = self.ctx.shown_result()
        if self._played is not None and (shown is None or shown.state != self._played):
            return
        if not self._frames:
            self.play_btn.setChecked(False)
            return
        state = self._frames[self._frame % len(self._frames)]
        self._frame = (self._frame + 1) % len(self._frames)
        self._played = state
        self.app.edit(state, "Timeline", merge="timeline", source=self)

    def _stop_if_changed_elsewhere(self, change: StateChange) -> None:
        if self.timer.isActive() and change.source is not self:
            self.play_btn.setChecked(False)

    # -- export, save, load --------------------------------------------------------------------
    def _export_dialog(self, filt: str, suffix: str) -> None:
        start = settings_text("export_dir", "")
        if suffix:
            path, _ = QFileDialog.getSaveFileName(self, "Export timeline", start, filt)
            if path and not path.lower().endswith(suffix):
                path += suffix
        else:
            path = QFileDialog.getExistingDirectory(self, "Export PNG frames into an empty folder", start)
        if path:
            settings().setValue("export_dir", str(Path(path).parent))
            self.export(path)

    def export(self, path: str, scale: Optional[int] = None) -> None:
        """Render the timeline to path: .mp4 / .gif (one file) or a new or empty folder (PNG frames)."""
        tl, renderer, scale = self.timeline, self.ctx.render, int(scale or self.scale.value())
        try:
            tl.check()
        except TimelineError as e:
            self.ctx.report_error(f"Timeline export: {e}", dialog=True)
            return
        self._cancel = False

        def work(report):
            def progress(fraction):
                if self._cancel:
                    raise JobCancelled("cancelled")
                report(fraction)
            states = list(tl.frames(renderer))
            if Path(path).suffix.lower() in export.ANIMATION_TYPES:
                return export.export_states(renderer, states, path, scale, progress, fps=tl.fps)
            return export.export_png_frames(renderer, states, path, scale, progress)

        def finished(message: str) -> None:
            self.cancel_btn.setEnabled(False)
            self.status.setText(message)

        def failed(message: str) -> None:
            finished("Export cancelled: no file written." if self._cancel else f"Export failed: {path}")
            if not self._cancel:
                self.ctx.report_error(f"Could not export the timeline to {path}:\n{message}", dialog=True)
        self.bar.setValue(0)
        self.cancel_btn.setEnabled(True)
        self.status.setText(f"Exporting {Path(path).name}…")
        self._export_channel = f"{type(self).__name__}:export:{path}"
        self.run_job(f"export:{path}", work, lambda n: finished(f"Wrote {path} ({n} frames)"),
                     busy="Exporting the timeline", with_progress=True, on_fail=failed)

    def cancel_export(self) -> None:
        self._cancel = True

    def _progress(self, channel: str, fraction: float) -> None:
        if channel == self._export_channel:
            self.bar.setValue(round(fraction * 1000))

    def _file_dialog(self, save: bool) -> None:
        start, filt = settings_text("export_dir", ""), "Timeline (*.json)"
        path = (QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName)(self, "Timeline", start, filt)[0]
        if path:
            settings().setValue("export_dir", str(Path(path).parent))
            self.save(path) if save else self.load(path)

    def save(self, path: str) -> bool:
        try:
            save_timeline(path, self.timeline)
        except (TimelineError, OSError) as e:
            self.ctx.report_error(f"Could not save the timeline: {e}", dialog=True)
            return False
        self.status.setText(f"Saved {path}")
        return True

    def load(self, path: str) -> bool:
        try:
            tl = load_timeline(path)
        except TimelineError as e:
            self.ctx.report_error(str(e), dialog=True)
            return False
        self.play_btn.setChecked(False)
        self.set_timeline(tl)
        return True

    def model_changed(self, info: ModelInfo) -> None:
        self.play_btn.setChecked(False)
        self._fill_bookmarks()
