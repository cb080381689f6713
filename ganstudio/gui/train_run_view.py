"""The Train window's run view: the selected run live (state, progress, loss curves, samples, checkpoints).

It only draws: the buttons emit signals the Train window handles, and which of them are enabled comes
from :class:`ganstudio.training.run_controller.Actions`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton,
                               QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from ganstudio._duration import format_duration
from ganstudio.checkpoints.naming import step_of
from ganstudio.gui.train_run_list import state_color
from ganstudio.training.run_controller import Actions

EVAL_SAMPLES = 2000  # generated images per "Evaluate FCD" (the CLI's default 5000 is slow on CPU)


def _button(text: str, tip: str, signal) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.clicked.connect(lambda _=False: signal.emit())
    return b


class RunView(QWidget):
    """Header with the run's state and controls, progress, the loss plot, the sample grid, the checkpoints."""

    pause_requested = Signal()
    resume_requested = Signal()
    stop_requested = Signal()
    open_requested = Signal()
    evaluate_requested = Signal()
    copy_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None, posix: bool = True, stop_timeout: float = 30.0):
        super().__init__(parent)
        from ganstudio.gui.train_plots import LossPlot  # pyqtgraph only once the window is built

        self.sample_path: Optional[Path] = None
        self.sample_image: Optional[QImage] = None
        self._ckpt_picked = False
        self.plot = LossPlot()
        self.plot.setMinimumHeight(220)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(self._build_head(posix, stop_timeout))
        lay.addLayout(self._build_stats())
        lay.addWidget(self.plot, 5)
        bottom = QHBoxLayout()
        bottom.addWidget(self._build_samples(), 3)
        bottom.addLayout(self._build_side(), 2)
        lay.addLayout(bottom, 4)

    # -- construction ----------------------------------------------------------------------------
    def _build_head(self, posix: bool, stop_timeout: float) -> QHBoxLayout:
        self.title = QLabel("<b>No run selected</b>")
        self.title.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.state_label = QLabel()
        self.pause_btn = _button("Pause", "Suspend the training process (it keeps its memory); Resume continues it"
                                 if posix else "Stop with a checkpoint; Resume continues from it", self.pause_requested)
        self.resume_btn = _button("Resume", "Continue a paused run, or restart a stopped one from its newest good "
                                  "checkpoint", self.resume_requested)
        self.stop_btn = _button("Stop", "Save a checkpoint and end the run (killed if it does not end within "
                                f"{stop_timeout:.0f} s)", self.stop_requested)
        self.resume_steps = QSpinBox()
        self.resume_steps.setRange(1, 2**31 - 1)
        self.resume_steps.setPrefix("to step ")
        self.resume_steps.setToolTip("Resume trains up to this step (raise it to extend a finished run)")
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.state_label)
        head.addStretch(1)
        for w in (self.pause_btn, self.resume_btn, self.resume_steps, self.stop_btn):
            head.addWidget(w)
        return head

    def _build_stats(self) -> QHBoxLayout:
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
        return stats

    def _build_samples(self) -> QGroupBox:
        self.sample_label = QLabel("No samples yet")
        self.sample_label.setAlignment(Qt.AlignCenter)
        self.sample_label.setMinimumSize(300, 300)
        self.sample_label.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.sample_label.setToolTip("The newest sample grid (EMA generator if any) on fixed latents")
        self.sample_caption = QLabel()
        box = QGroupBox("Samples on fixed latents")
        sl = QVBoxLayout(box)
        sl.addWidget(self.sample_label, 1)
        sl.addWidget(self.sample_caption)
        return box

    def _build_side(self) -> QVBoxLayout:
        self.ckpt_combo = QComboBox()
        self.ckpt_combo.setToolTip("The run's checkpoints, newest first")
        self.ckpt_combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.ckpt_combo.setMinimumContentsLength(18)
        self.ckpt_combo.activated.connect(lambda i: setattr(self, "_ckpt_picked", i > 0))
        self.open_btn = _button("Open in explorer", "Explore this checkpoint in the main window (works while the "
                                "run trains)", self.open_requested)
        self.eval_btn = _button("Evaluate FCD", f"Run `ganstudio eval` on this checkpoint ({EVAL_SAMPLES} samples) "
                                "in a separate process; the result is kept in the run folder", self.evaluate_requested)
        self.metrics_label = QLabel("FCD: not evaluated")
        self.metrics_label.setWordWrap(True)
        self.metrics_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.copy_btn = _button("Copy settings to form", "Fill the New run form with this run's settings, to start "
                                "another like it", self.copy_requested)
        box = QGroupBox("Checkpoints")
        cl = QVBoxLayout(box)
        cl.addWidget(self.ckpt_combo)
        row = QHBoxLayout()
        row.addWidget(self.open_btn)
        row.addWidget(self.eval_btn)
        cl.addLayout(row)
        cl.addWidget(self.metrics_label)
        cl.addWidget(self.copy_btn)
        self.error_box = QPlainTextEdit()
        self.error_box.setReadOnly(True)
        self.error_box.setLineWrapMode(QPlainTextEdit.WidgetWidth)
        self.error_box.setStyleSheet("QPlainTextEdit { color: #d0342c; }")
        self.error_box.setMinimumHeight(80)
        self.error_box.hide()
        side = QVBoxLayout()
        side.addWidget(box)
        side.addWidget(self.error_box, 1)
        side.addStretch(0)
        return side

    # -- showing a run ---------------------------------------------------------------------------
    def clear(self, path: Path) -> None:
        """Empty every part, titled with ``path``'s name."""
        self.sample_path, self.sample_image = None, None
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

    def show_state(self, state: str, reason: str) -> None:
        self.state_label.setText(f"<span style='color:{state_color(state)}; font-weight:bold'>{state}</span>")
        self.state_label.setToolTip(reason)

    def show_progress(self, step: int, steps: int, record: dict, live: bool) -> None:
        """Progress bar at ``step`` of ``steps``; speed and ETA from the newest log ``record`` while ``live``."""
        self.progress.setRange(0, max(steps, 1))
        self.progress.setValue(min(step, steps))
        if record:
            self.kimg_label.setText(f"{float(record.get('kimg', 0.0)):.2f} kimg")
            self.speed_label.setText(f"{float(record.get('img_per_s', 0.0)):.0f} img/s" if live else "— img/s")
            self.eta_label.setText(f"ETA {format_duration(record.get('eta_s'), unknown='—')}" if live else "ETA —")

    def show_error(self, text: str) -> None:
        """The reason a run failed or was refused; "" hides the box."""
        if not text:
            self.error_box.hide()
            return
        self.error_box.setPlainText(text)
        self.error_box.show()

    def set_actions(self, a: Actions) -> None:
        for button, on in ((self.pause_btn, a.pause), (self.resume_btn, a.resume), (self.stop_btn, a.stop),
                           (self.resume_steps, a.resume_steps), (self.open_btn, a.open), (self.eval_btn, a.evaluate),
                           (self.copy_btn, a.copy_settings)):
            button.setEnabled(on)

    def show_sample(self, path: Path) -> None:
        img = QImage(str(path))
        if img.isNull():  # not fully there yet (a non-atomic writer): the next poll retries
            return
        self.sample_path, self.sample_image = path, img
        self._scale_sample()
        step = step_of(path)
        self.sample_caption.setText(f"step {'?' if step is None else step}   ({img.width()}×{img.height()} px)")

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

    def fill_checkpoints(self, ckpts: list) -> None:
        """``(step, path)`` pairs, oldest first; the newest stays selected unless the user picked an older one."""
        keep = self.ckpt_combo.currentData() if self._ckpt_picked else None
        self.ckpt_combo.blockSignals(True)
        self.ckpt_combo.clear()
        for step, path in reversed(ckpts):
            self.ckpt_combo.addItem(f"step {step}   {path.name}", str(path))
        i = self.ckpt_combo.findData(keep) if keep else -1
        self.ckpt_combo.setCurrentIndex(i if i >= 0 else 0)
        self.ckpt_combo.blockSignals(False)

    def selected_checkpoint(self) -> Optional[str]:
        return self.ckpt_combo.currentData() or None

    def show_metrics(self, m: dict) -> None:
        """The newest evaluation record of the run."""
        parts = []
        for key, label in (("fcd", "FCD"), ("is", "IS"), ("precision", "precision"), ("recall", "recall")):
            if isinstance(m.get(key), (int, float)):
                parts.append(f"{label} {m[key]:.3f}")
        where = f" at step {m['step']}" if m.get("step") is not None else ""
        caveat = ""
        if m.get("fashion_mnist_like") is False:  # the classifier's features only mean much on such data
            caveat = f" (indicative only: {m.get('data_note', 'not Fashion-MNIST-like data')})"
        self.metrics_label.setText((", ".join(parts) + where + caveat) if parts else str(m.get("note", m)))
