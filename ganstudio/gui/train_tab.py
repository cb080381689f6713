"""The Train tab: set up a run from a preset, start / pause / resume / stop it, watch it live, open its checkpoints.

Training runs in its own process (``python -m ganstudio train``, see :mod:`ganstudio.gui.train_process`),
so a crash, a NaN or running out of memory there never takes the window down.  Everything shown
is read from the run folder through :mod:`ganstudio.training.monitor`, polled by a QTimer with
incremental reads; so closing and reopening the app shows every run, finished or not, and a run
keeps training when the window closes.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QEvent, QObject, QProcess, QProcessEnvironment, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QMenu, QMessageBox, QPlainTextEdit, QProgressBar, QPushButton, QScrollArea, QSizePolicy,
                               QSpinBox, QSplitter, QVBoxLayout, QWidget)

from ganstudio.gui.settings import settings, text as settings_text
from ganstudio.gui.train_form import ConfigForm
from ganstudio.gui.train_process import POSIX, ProcessManager, _package_root
from ganstudio.training.monitor import (UNEXPECTED, RunMonitor, RunStatus, RunUpdate, append_metrics, list_runs,
                                        new_run_name, read_run_status, PROCESS_LOG)
from ganstudio.training.presets import TrainConfig

DEFAULT_RUNS_ROOT = Path.home() / "GANStudio" / "runs"
SETTINGS_KEY = "train/runs_root"
POLL_MS = 500  # the run folder is read this often
LIST_EVERY = 4  # ... and the runs root listed every LIST_EVERY polls
EVAL_SAMPLES = 2000  # generated images per "Evaluate FCD" (the CLI's default 5000 is slow on CPU)
STATE_COLORS = {"running": "#2e9e4f", "paused": "#c98a00", "starting": "#2e7fc9", "finished": "#2e7fc9",
                "stopped": "#777777", "failed": "#d0342c", UNEXPECTED: "#d0342c"}


def _fmt_time(s) -> str:
    try:
        s = float(s)
    except (TypeError, ValueError):
        return "—"
    if s != s or s in (float("inf"), float("-inf")) or s < 0:
        return "—"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{sec:02d}s"


class TrainTab(QWidget):
    """Runs on the left, the settings form in the middle, the selected run live on the right."""

    open_checkpoint = Signal(str)  # a checkpoint path for the explorer's open-model slot

    def __init__(self, parent: Optional[QWidget] = None, runs_root: Optional[Path] = None,
                 manager: Optional[ProcessManager] = None):
        super().__init__(parent)
        from ganstudio.gui.train_plots import LossPlot  # pyqtgraph only once the tab is built

        root = runs_root or settings_text(SETTINGS_KEY) or DEFAULT_RUNS_ROOT
        self.runs_root = Path(root).expanduser()
        self.manager = manager or ProcessManager()
        self.manager.adopt_orphan_logs(self.runs_root)
        self.monitor: Optional[RunMonitor] = None
        self.current: Optional[Path] = None
        self.status: Optional[RunStatus] = None
        self.last_record: Optional[dict] = None
        self.sample_path: Optional[Path] = None
        self.sample_image: Optional[QImage] = None
        self.metrics: list[dict] = []
        self._items: dict[Path, QListWidgetItem] = {}
        self._soft_paused: set[Path] = set()  # Windows: paused = stopped with a checkpoint
        self._eval: Optional[QProcess] = None
        self._ticks = 0
        self._steps_shown = False  # resume_steps shows the selected run's target

        # -- left: the runs --------------------------------------------------------------------
        self.root_label = QLabel()
        self.root_label.setWordWrap(True)
        self.root_btn = QPushButton("Change…")
        self.root_btn.setToolTip("Choose the folder that holds the run folders")
        self.root_btn.clicked.connect(self._choose_root)
        self.run_list = QListWidget()
        self.run_list.setIconSize(QSize(10, 10))
        self.run_list.setToolTip("Every run folder under the runs folder, newest first, with its state")
        self.run_list.currentItemChanged.connect(self._on_item_changed)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(4, 4, 4, 4)
        title = QLabel("<b>Runs</b>")
        row = QHBoxLayout()
        row.addWidget(title)
        row.addStretch(1)
        row.addWidget(self.root_btn)
        ll.addLayout(row)
        ll.addWidget(self.root_label)
        ll.addWidget(self.run_list, 1)

        # -- middle: the form ------------------------------------------------------------------
        self.form = ConfigForm()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(self.form.sizeHint().width() + 24)
        self.start_btn = QPushButton("Start training")
        self.start_btn.setToolTip("Start a new run with these settings in a new folder under the runs folder")
        self.start_btn.clicked.connect(self.start_new_run)
        self.form_error = QLabel()
        self.form_error.setWordWrap(True)
        self.form_error.setStyleSheet("color: #d0342c")
        self.form_error.hide()
        middle = QWidget()
        ml = QVBoxLayout(middle)
        ml.setContentsMargins(0, 4, 0, 4)
        ml.addWidget(QLabel("<b>New run</b>"))
        ml.addWidget(scroll, 1)
        ml.addWidget(self.form_error)
        ml.addWidget(self.start_btn)

        # -- right: the selected run -----------------------------------------------------------
        self.title = QLabel("<b>No run selected</b>")
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.state_label = QLabel()
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setToolTip("Suspend the training process (it keeps its memory); Resume continues it"
                                  if POSIX else "Stop with a checkpoint; Resume continues from it")
        self.resume_btn = QPushButton("Resume")
        self.resume_btn.setToolTip("Continue a paused run, or restart a stopped one from its newest good checkpoint")
        self.stop_btn = QPushButton("Stop")
        self.stop_btn.setToolTip("Save a checkpoint and end the run (killed if it does not end within "
                                 f"{self.manager.stop_timeout:.0f} s)")
        self.resume_steps = QSpinBox()
        self.resume_steps.setRange(1, 2**31 - 1)
        self.resume_steps.setPrefix("to step ")
        self.resume_steps.setToolTip("Resume trains up to this step (raise it to extend a finished run)")
        self.pause_btn.clicked.connect(self.pause_run)
        self.resume_btn.clicked.connect(self.resume_run)
        self.stop_btn.clicked.connect(self.stop_run)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.state_label)
        head.addStretch(1)
        for w in (self.pause_btn, self.resume_btn, self.resume_steps, self.stop_btn):
            head.addWidget(w)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("step %v / %m")
        self.speed_label = QLabel("— img/s")
        self.eta_label = QLabel("ETA —")
        self.kimg_label = QLabel("— kimg")
        stats = QHBoxLayout()
        stats.addWidget(self.progress, 1)
        for w in (self.kimg_label, self.speed_label, self.eta_label):
            w.setMinimumWidth(90)
            w.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            stats.addWidget(w)

        self.plot = LossPlot()
        self.plot.setMinimumHeight(220)

        self.sample_label = QLabel("No samples yet")
        self.sample_label.setAlignment(Qt.AlignCenter)
        self.sample_label.setMinimumSize(300, 300)
        self.sample_label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.sample_label.setToolTip("The newest sample grid (EMA generator if any) on fixed latents")
        self.sample_caption = QLabel()
        samples_box = QGroupBox("Samples on fixed latents")
        sl = QVBoxLayout(samples_box)
        sl.addWidget(self.sample_label, 1)
        sl.addWidget(self.sample_caption)

        self.ckpt_combo = QComboBox()
        self.ckpt_combo.setToolTip("The run's checkpoints, newest first")
        self.ckpt_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.ckpt_combo.setMinimumContentsLength(18)
        self._ckpt_picked = False
        self.ckpt_combo.activated.connect(lambda i: setattr(self, "_ckpt_picked", i > 0))
        self.open_btn = QPushButton("Open in explorer")
        self.open_btn.setToolTip("Explore this checkpoint in the main window (works while the run trains)")
        self.open_btn.clicked.connect(self.open_selected_checkpoint)
        self.eval_btn = QPushButton("Evaluate FCD")
        self.eval_btn.setToolTip(f"Run `ganstudio eval` on this checkpoint ({EVAL_SAMPLES} samples) in a "
                                 f"separate process; the result is kept in the run folder")
        self.eval_btn.clicked.connect(self.evaluate_selected_checkpoint)
        self.metrics_label = QLabel("FCD: not evaluated")
        self.metrics_label.setWordWrap(True)
        self.metrics_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.copy_btn = QPushButton("Copy settings to form")
        self.copy_btn.setToolTip("Fill the New run form with this run's settings, to start another like it")
        self.copy_btn.clicked.connect(self.copy_settings_to_form)
        ckpt_box = QGroupBox("Checkpoints")
        cl = QVBoxLayout(ckpt_box)
        cl.addWidget(self.ckpt_combo)
        brow = QHBoxLayout()
        brow.addWidget(self.open_btn)
        brow.addWidget(self.eval_btn)
        cl.addLayout(brow)
        cl.addWidget(self.metrics_label)
        cl.addWidget(self.copy_btn)

        self.error_box = QPlainTextEdit()
        self.error_box.setReadOnly(True)
        self.error_box.setLineWrapMode(QPlainTextEdit.WidgetWidth)
        self.error_box.setStyleSheet("QPlainTextEdit { color: #d0342c; }")
        self.error_box.setMinimumHeight(80)
        self.error_box.hide()
        side = QVBoxLayout()
        side.addWidget(ckpt_box)
        side.addWidget(self.error_box, 1)
        side.addStretch(0)
        bottom = QHBoxLayout()
        bottom.addWidget(samples_box, 3)
        bottom.addLayout(side, 2)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(4, 4, 4, 4)
        rl.addLayout(head)
        rl.addLayout(stats)
        rl.addWidget(self.plot, 5)
        rl.addLayout(bottom, 4)

        self.splitter = QSplitter(Qt.Horizontal)
        for w in (left, middle, right):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setSizes([240, scroll.minimumWidth() + 10, 1000])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)

        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        self._show_root()
        self.refresh_runs()
        if self.run_list.count():
            self.run_list.setCurrentRow(0)
        self._update_buttons()

    # -- runs root -------------------------------------------------------------------------------
    def _show_root(self) -> None:
        self.root_label.setText(str(self.runs_root))
        self.root_label.setToolTip(str(self.runs_root))

    def _choose_root(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Runs folder", str(self.runs_root))
        if path:
            self.set_runs_root(Path(path))

    def set_runs_root(self, root: Path) -> None:
        self.runs_root = Path(root)
        settings().setValue(SETTINGS_KEY, str(self.runs_root))
        self._show_root()
        self.manager.adopt_orphan_logs(self.runs_root)
        self.refresh_runs()

    # -- the run list ----------------------------------------------------------------------------
    def refresh_runs(self) -> None:
        """List the run folders with their states (cheap: one status.json read per run)."""
        paths = list_runs(self.runs_root)
        for run in self.manager.procs:  # started but not on disk yet
            if run not in paths and run.parent == self.runs_root:
                paths.insert(0, run)
        known = set(paths)
        for path in list(self._items):
            if path not in known:
                row = self.run_list.row(self._items.pop(path))
                self.run_list.takeItem(row)
        for i, path in enumerate(paths):
            item = self._items.get(path)
            if item is None:
                item = QListWidgetItem()
                item.setData(Qt.UserRole, str(path))
                self._items[path] = item
                self.run_list.insertItem(i, item)
            status = self.status if path == self.current and self.status else read_run_status(path)
            self._describe_item(item, path, status)

    def _describe_item(self, item: QListWidgetItem, path: Path, status: RunStatus) -> None:
        state = "paused" if path in self._soft_paused and status.state == "stopped" else status.state
        step = status.step  # status.json is rewritten at checkpoints only; the log is newer
        if path == self.current and self.last_record:
            step = max(step, int(self.last_record.get("step") or 0))
        steps = f" · {step}/{status.steps}" if status.steps else ""
        item.setText(f"{path.name}\n   {state}{steps}")
        item.setForeground(QColor(STATE_COLORS.get(state, "#777777")))
        item.setToolTip(f"{path}\n{state}: {status.reason}" if status.reason else f"{path}\n{state}")

    def _on_item_changed(self, item: Optional[QListWidgetItem], _prev=None) -> None:
        if item is not None:
            self.select_run(Path(item.data(Qt.UserRole)))

    def select_run(self, path: Path) -> None:
        """Show ``path`` on the right (read from its files from the start)."""
        path = Path(path)
        if path == self.current and self.monitor is not None:
            return
        self.current = path
        self.monitor = RunMonitor(path)
        self.status, self.last_record, self.sample_path, self.sample_image = None, None, None, None
        self.metrics = []
        self.plot.clear_all()
        self.sample_label.clear()
        self.sample_label.setText("No samples yet")
        self.sample_caption.setText("")
        self.ckpt_combo.clear()
        self._ckpt_picked = False
        self.metrics_label.setText("FCD: not evaluated")
        self.error_box.hide()
        self.title.setText(f"<b>{path.name}</b>")
        self.title.setToolTip(str(path))
        item = self._items.get(path)
        if item is not None and self.run_list.currentItem() is not item:
            self.run_list.setCurrentItem(item)
        self._steps_shown = False
        self._apply(self.monitor.poll())

    def _config(self) -> Optional[dict]:
        return self.monitor.config() if self.monitor else None

    # -- polling ---------------------------------------------------------------------------------
    def poll(self) -> None:
        """The timer: reap processes, read what is new in the selected run, now and then re-list the runs."""
        exited = self.manager.poll()
        if self.monitor is not None:
            self._apply(self.monitor.poll(), force_status=any(p.run == self.current for p in exited))
        self._ticks += 1
        if exited or self._ticks % LIST_EVERY == 0:
            self.refresh_runs()

    def _apply(self, upd: RunUpdate, force_status: bool = False) -> None:
        if upd.reset:
            self.plot.clear_all()
        if upd.records:
            self.plot.add_records(upd.records)
            self.last_record = upd.records[-1]
        if upd.sample is not None:
            self._show_sample(upd.sample)
        if upd.checkpoints is not None:
            self._fill_checkpoints(upd.checkpoints)
        if upd.metrics:
            self.metrics += upd.metrics
            self._show_metrics()
        if upd.status_changed or force_status or self.status is None:
            self.status = upd.status
            self._show_status()
        elif upd.records:
            self._show_progress()

    def _show_progress(self) -> None:
        st, rec = self.status, self.last_record or {}
        cfg = self._config() or {}
        steps = int(rec.get("steps") or (st.steps if st else 0) or cfg.get("steps") or 1)
        step = max(int(rec.get("step") or 0), st.step if st else 0)
        self.progress.setRange(0, max(steps, 1))
        self.progress.setValue(min(step, steps))
        live = st is not None and st.state == "running"
        if rec:
            self.kimg_label.setText(f"{float(rec.get('kimg', 0.0)):.2f} kimg")
            self.speed_label.setText(f"{float(rec.get('img_per_s', 0.0)):.0f} img/s" if live else "— img/s")
            self.eta_label.setText(f"ETA {_fmt_time(rec.get('eta_s'))}" if live else "ETA —")

    def _show_status(self) -> None:
        st = self.status
        if st is None or self.current is None:
            return
        state = "paused" if self.current in self._soft_paused and st.state == "stopped" else st.state
        color = STATE_COLORS.get(state, "#777777")
        self.state_label.setText(f"<span style='color:{color}; font-weight:bold'>{state}</span>")
        self.state_label.setToolTip(st.reason)
        if not self._steps_shown:  # a new run's config.json appears after its first poll
            cfg = self._config()
            if cfg:
                self.resume_steps.setValue(int(cfg.get("steps", 1)))
                self._steps_shown = True
        self._show_progress()
        self._show_error()
        self._update_buttons()
        item = self._items.get(self.current)
        if item is not None:
            self._describe_item(item, self.current, st)

    def _show_error(self) -> None:
        st, proc = self.status, self.manager.process(self.current) if self.current else None
        crashed = proc is not None and not proc.running and proc.returncode not in (0, None)
        refused = crashed and proc.returncode == 2  # the trainer said no before touching the run (a usage error)
        if st is None or not (st.state in ("failed", UNEXPECTED) or refused or (crashed and st.state != "stopped")):
            self.error_box.hide()
            return
        tail = self.monitor.process_log_tail(12) if self.monitor else []
        if refused and st.state in ("stopped", "finished"):  # a resume refused: the run is as it was
            errors = [line for line in tail if ": error: " in line]
            reason = errors[-1].split(": error: ", 1)[1] if errors else proc.exit_text()
            self.error_box.setPlainText(f"Could not resume: {reason}\nThe run is unchanged.")
            self.error_box.show()
            return
        title = "Stopped unexpectedly" if st.state == UNEXPECTED else "Training failed"
        lines = [f"{title}: {st.reason or 'no reason recorded'}"]
        if crashed:
            lines.append(f"The training process ended: {proc.exit_text()}.")
        ckpts = self.monitor.checkpoints if self.monitor else []
        if ckpts:
            lines.append(f"The last good checkpoint is kept: {ckpts[-1][1].name} (step {ckpts[-1][0]}); "
                         f"Resume continues from it.")
        elif st.state != "starting":
            lines.append("No checkpoint was saved.")
        if tail:
            lines += ["", f"Last lines of {PROCESS_LOG}:"] + tail
        self.error_box.setPlainText("\n".join(lines))
        self.error_box.show()

    def _update_buttons(self) -> None:
        st = self.status
        state = st.state if st else ""
        soft = self.current in self._soft_paused if self.current else False
        has_ckpt = bool(self.monitor and self.monitor.checkpoints)
        self.pause_btn.setEnabled(state == "running")
        self.stop_btn.setEnabled(state in ("running", "paused", "starting") or (soft and state == "stopped"))
        proc = self.manager.process(self.current) if self.current else None
        exiting = proc is not None and proc.running and state != "paused"  # wrote "stopped", not gone yet
        self.resume_btn.setEnabled(state == "paused" or (state in ("stopped", "failed", UNEXPECTED, "finished")
                                                         and has_ckpt and not exiting))
        self.resume_steps.setEnabled(state != "paused")
        self.open_btn.setEnabled(self.ckpt_combo.count() > 0)
        self.eval_btn.setEnabled(self.ckpt_combo.count() > 0 and self._eval is None)
        self.copy_btn.setEnabled(self._config() is not None)

    def _show_sample(self, path: Path) -> None:
        img = QImage(str(path))
        if img.isNull():  # not fully there yet (a non-atomic writer): the next poll retries
            return
        self.sample_path, self.sample_image = path, img
        self._scale_sample()
        step = path.stem.split("_")[-1].lstrip("0") or "0"
        self.sample_caption.setText(f"step {step}   ({img.width()}×{img.height()} px)")

    def _scale_sample(self) -> None:
        if self.sample_image is None:
            return
        size = self.sample_label.size()
        pix = QPixmap.fromImage(self.sample_image)
        # Integer upscaling with nearest neighbour: small samples stay crisp.
        k = max(1, min(size.width() // max(pix.width(), 1), size.height() // max(pix.height(), 1)))
        if k > 1:
            pix = pix.scaled(pix.width() * k, pix.height() * k, Qt.KeepAspectRatio, Qt.FastTransformation)
        elif pix.width() > size.width() or pix.height() > size.height():
            pix = pix.scaled(size, Qt.KeepAspectRatio, Qt.SmoothTransformation)
        self.sample_label.setPixmap(pix)

    def resizeEvent(self, e):
        super().resizeEvent(e)
        QTimer.singleShot(0, self._scale_sample)

    def _fill_checkpoints(self, ckpts: list) -> None:
        # The newest stays selected as checkpoints arrive, unless the user picked an older one.
        keep = self.ckpt_combo.currentData() if self._ckpt_picked else None
        self.ckpt_combo.blockSignals(True)
        self.ckpt_combo.clear()
        for step, path in reversed(ckpts):
            self.ckpt_combo.addItem(f"step {step}   {path.name}", str(path))
        i = self.ckpt_combo.findData(keep) if keep else -1
        self.ckpt_combo.setCurrentIndex(i if i >= 0 else 0)
        self.ckpt_combo.blockSignals(False)
        self._update_buttons()

    def _show_metrics(self) -> None:
        m = self.metrics[-1]
        parts = []
        for key, label in (("fcd", "FCD"), ("is", "IS"), ("precision", "precision"), ("recall", "recall")):
            if isinstance(m.get(key), (int, float)):
                parts.append(f"{label} {m[key]:.3f}")
        where = f" at step {m['step']}" if m.get("step") is not None else ""
        caveat = ""
        if m.get("fashion_mnist_like") is False:  # the classifier's features only mean much on such data
            caveat = f" (indicative only: {m.get('data_note', 'not Fashion-MNIST-like data')})"
        self.metrics_label.setText((", ".join(parts) + where + caveat) if parts else str(m.get("note", m)))

    # -- actions ---------------------------------------------------------------------------------
    def confirm(self, text: str) -> bool:
        """Ask before starting a second concurrent run (tests replace this)."""
        return QMessageBox.question(self, "GAN Studio", text) == QMessageBox.Yes

    def start_new_run(self) -> Optional[Path]:
        """A new run folder under the runs root, trained per the form; returns its path (None if refused)."""
        self.form_error.hide()
        try:
            cfg = self.form.config()
        except ValueError as e:
            return self._form_failed(str(e))
        busy = [p.name for p in self.manager.running_runs()]
        if busy and not self.confirm(f"{', '.join(busy)} is training. Start another run at the same time?"):
            return None
        try:
            self.runs_root.mkdir(parents=True, exist_ok=True)
            run = self.runs_root / new_run_name(self.runs_root, cfg.preset)
            self.manager.start_new(run, cfg.preset, self.form.data(), self.form.settings())
        except (OSError, ValueError) as e:
            return self._form_failed(f"could not start: {e}")
        self.refresh_runs()
        self.select_run(run)
        return run

    def _form_failed(self, msg: str) -> None:
        self.form_error.setText(msg)
        self.form_error.show()
        return None

    def pause_run(self) -> None:
        if self.current is None:
            return
        if POSIX:
            self.manager.pause(self.current)
        else:  # no SIGSTOP: stop with a checkpoint, Resume restarts from it
            self.manager.stop(self.current)
            self._soft_paused.add(self.current)
        self.poll()

    def resume_run(self) -> None:
        """Continue a paused process, or start ``ganstudio train --resume`` on a stopped run."""
        run = self.current
        if run is None or self.status is None:
            return
        if self.status.state == "paused" and POSIX:
            self.manager.cont(run)
        else:
            self._soft_paused.discard(run)
            cfg = self._config() or {}
            steps = self.resume_steps.value() if self._steps_shown else None
            if steps is not None and steps != cfg.get("steps") and steps <= self.status.step:
                # The trainer would refuse it (a new total must be larger); say so before starting it.
                QMessageBox.warning(self, "GAN Studio", f"{run.name} is already at step {self.status.step}: "
                                    f"set “to step” above it to train further.")
                return
            try:
                self.manager.resume(run, steps if steps != cfg.get("steps") else None)
            except (OSError, ValueError) as e:
                QMessageBox.warning(self, "GAN Studio", f"Could not resume {run.name}: {e}")
                return
        self.poll()

    def stop_run(self) -> None:
        if self.current is None:
            return
        self._soft_paused.discard(self.current)
        self.manager.stop(self.current)
        self.poll()

    def open_selected_checkpoint(self) -> None:
        path = self.ckpt_combo.currentData()
        if path:
            self.open_checkpoint.emit(str(path))

    def copy_settings_to_form(self) -> None:
        cfg = self._config()
        if cfg is not None:
            try:
                self.form.set_config(TrainConfig.from_dict(cfg))
            except (ValueError, TypeError) as e:
                self._form_failed(f"cannot use this run's settings: {e}")

    # -- evaluation --------------------------------------------------------------------------------
    def evaluate_selected_checkpoint(self, n: int = EVAL_SAMPLES) -> None:
        """``ganstudio eval`` in a separate process; its result goes to RUN/metrics.jsonl and shows here."""
        ckpt = self.ckpt_combo.currentData()
        if not ckpt or self._eval is not None or self.current is None:
            return
        run = self.current
        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONPATH", os.pathsep.join(p for p in (_package_root(), env.value("PYTHONPATH")) if p))
        for k, v in self.manager.env.items():
            env.insert(k, v)
        proc.setProcessEnvironment(env)
        proc.finished.connect(lambda code, _status: self._eval_done(proc, run, str(ckpt), code))
        proc.errorOccurred.connect(lambda _err: proc.state() == QProcess.NotRunning and
                                   self._eval_done(proc, run, str(ckpt), -1))
        self._eval = proc
        self.metrics_label.setText(f"Evaluating {Path(ckpt).name}…")
        self._update_buttons()
        proc.start(sys.executable, ["-m", "ganstudio", "eval", str(ckpt), "--json", "--n", str(n), "--force"])

    def _eval_done(self, proc: QProcess, run: Path, ckpt: str, code: int) -> None:
        if self._eval is not proc:
            return
        self._eval = None
        out = bytes(proc.readAllStandardOutput()).decode("utf-8", "replace")
        err = bytes(proc.readAllStandardError()).decode("utf-8", "replace")
        proc.deleteLater()
        result = None
        if code == 0:
            try:
                result = json.loads(out)
            except ValueError:
                result = None
        if not isinstance(result, dict):
            lines = [ln for ln in (err or out or proc.errorString()).splitlines() if ln.strip()]
            msg = lines[-1] if lines else f"exit code {code}"
            if run == self.current:
                self.metrics_label.setText(f"Evaluation failed: {msg}")
            self._update_buttons()
            return
        step = int(Path(ckpt).stem.split("_")[-1]) if Path(ckpt).stem.split("_")[-1].isdigit() else None
        keep = {k: v for k, v in result.items() if isinstance(v, (int, float, str)) and k != "checkpoint"}
        record = {"step": step, "checkpoint": ckpt, **keep}
        try:
            append_metrics(run, record)  # the monitor picks it up, as it would a metric the trainer logged
        except OSError as e:
            self.metrics_label.setText(f"FCD computed but not saved: {e}")
        self._update_buttons()
        self.poll()

    # -- closing ---------------------------------------------------------------------------------
    def shutdown(self, stop_runs: bool = False) -> None:
        """Stop polling and any evaluation; training processes keep running unless ``stop_runs``."""
        self.timer.stop()
        if self._eval is not None:
            self._eval.kill()
            self._eval.waitForFinished(3000)
            self._eval = None
        self.manager.shutdown(stop=stop_runs)


class _CloseWith(QObject):
    """Closes the Train window when the main window closes."""

    def __init__(self, window: QWidget, get_tab):
        super().__init__(window)
        self._get_tab = get_tab

    def eventFilter(self, obj, e):
        if e.type() == QEvent.Close:
            tab = self._get_tab()
            if tab is not None:
                tab.shutdown()
                tab.close()
        return False


def install_train_tab(window) -> QAction:
    """Give the explorer window a Train menu; the Train window is built on first use (``window.train_tab``).

    Its ``open_checkpoint`` opens the checkpoint in ``window`` (``window.open_model(path)``).
    """
    window.train_tab = None

    def show() -> TrainTab:
        if window.train_tab is None:
            tab = TrainTab(window)
            tab.setWindowFlag(Qt.Window, True)
            tab.setWindowTitle("GAN Studio — Training")
            tab.resize(1500, 950)

            def open_in_explorer(path: str) -> None:
                window.open_model(path)
                window.raise_()
                window.activateWindow()
            tab.open_checkpoint.connect(open_in_explorer)
            window.train_tab = tab
        window.train_tab.show()
        window.train_tab.raise_()
        window.train_tab.activateWindow()
        return window.train_tab

    bar = window.menuBar()
    help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
    menu = QMenu("&Train", bar)
    if help_menu is not None:  # Help stays the last menu
        bar.insertMenu(help_menu, menu)
    else:
        bar.addMenu(menu)
    act = QAction("&Training…", window)
    act.setShortcut(QKeySequence("Ctrl+T"))
    act.setToolTip("Train a model from a preset and watch it live")
    act.triggered.connect(lambda _=False: show())
    menu.addAction(act)
    window.addAction(act)
    if isinstance(getattr(window, "actions_by_name", None), dict):
        window.actions_by_name["train"] = act
    window.show_train_tab = show
    window.installEventFilter(_CloseWith(window, lambda: window.train_tab))
    return act
