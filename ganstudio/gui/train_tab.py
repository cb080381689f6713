"""The Train window: set up a run from a preset, start / pause / resume / stop it, watch it live, open its checkpoints.

Three parts, each its own widget: the run list (:mod:`ganstudio.gui.train_run_list`), the new-run form
(:mod:`ganstudio.gui.train_form`) and the run view (:mod:`ganstudio.gui.train_run_view`).  This module only
wires them to the Qt-free pieces: :class:`~ganstudio.training.process.ProcessManager` runs the trainers
(``python -m ganstudio train``, each in its own process, so a crash, a NaN or running out of memory there
never takes the window down), :class:`~ganstudio.training.run_controller.RunController` decides which actions
a run allows, and :class:`~ganstudio.training.monitor.RunMonitor` reads the run folder.  Everything shown is
read from the run folder, polled by a QTimer with incremental reads; so closing and reopening the app shows
every run, finished or not, and a run keeps training when the window closes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QMessageBox, QSplitter, QTabWidget, QVBoxLayout, QWidget

from ganstudio.gui.playground import PlaygroundWidget
from ganstudio.gui.settings import settings, text as settings_text
from ganstudio.gui.train_form import NewRunForm
from ganstudio.gui.train_run_list import RunEntry, RunList
from ganstudio.gui.train_run_view import EVAL_SAMPLES, RunView
from ganstudio.training.monitor import RunMonitor, RunStatus, RunUpdate, append_metrics, list_runs, new_run_name, \
    read_run_status
from ganstudio.training.presets import TrainConfig
from ganstudio.training.process import POSIX, EvalJob, EvalResult, ProcessManager
from ganstudio.training.run_controller import ResumeRefused, RunController

DEFAULT_RUNS_ROOT = Path.home() / "GANStudio" / "runs"
SETTINGS_KEY = "train/runs_root"
POLL_MS = 500  # the run folder is read this often
LIST_EVERY = 4  # ... and the runs root listed every LIST_EVERY polls


class TrainTab(QWidget):
    """Runs on the left, the new-run form in the middle, the selected run live on the right."""

    open_checkpoint = Signal(str)  # a checkpoint path for the explorer's open-model slot

    def __init__(self, parent: Optional[QWidget] = None, runs_root: Optional[Path] = None,
                 manager: Optional[ProcessManager] = None):
        super().__init__(parent)
        root = runs_root or settings_text(SETTINGS_KEY) or DEFAULT_RUNS_ROOT
        self.runs_root = Path(root).expanduser()
        self.manager = manager or ProcessManager()
        self.controller = RunController(self.manager)
        self.manager.adopt_orphan_logs(self.runs_root)
        self.monitor: Optional[RunMonitor] = None
        self.current: Optional[Path] = None
        self.status: Optional[RunStatus] = None
        self.last_record: Optional[dict] = None
        self.metrics: list[dict] = []
        self.evaluation: Optional[EvalJob] = None
        self._ticks = 0
        self._steps_shown = False  # the run view's "to step" shows the selected run's target

        self.runs = RunList()
        self.new_run = NewRunForm()
        self.form = self.new_run.form
        self.view = RunView(posix=POSIX, stop_timeout=self.manager.stop_timeout)
        self._lay_out()
        self._connect()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        self.timer.start()
        self.runs.show_root(self.runs_root)
        self.refresh_runs()
        first = self.runs.first()
        if first is None:  # a first run: a sample grid in seconds rather than minutes
            self.form.set_quick(True)
        else:
            self.select_run(first)
        self._update_buttons()

    def _lay_out(self) -> None:
        self.splitter = QSplitter(Qt.Horizontal)
        for w in (self.runs, self.new_run, self.view):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setStretchFactor(2, 1)
        self.splitter.setSizes([240, self.new_run.scroll.minimumWidth() + 10, 1000])
        self.playground = PlaygroundWidget()  # GAN Lab's 2-D lesson, beside the runs
        self.tabs = QTabWidget()
        self.tabs.addTab(self.splitter, "Runs")
        self.tabs.addTab(self.playground, "2-D playground")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)

    def _connect(self) -> None:
        self.runs.run_selected.connect(self.select_run)
        self.runs.root_chosen.connect(self.set_runs_root)
        self.new_run.start_requested.connect(self.start_new_run)
        v = self.view
        for signal, slot in ((v.pause_requested, self.pause_run), (v.resume_requested, self.resume_run),
                             (v.stop_requested, self.stop_run), (v.open_requested, self.open_selected_checkpoint),
                             (v.evaluate_requested, self.evaluate_selected_checkpoint),
                             (v.copy_requested, self.copy_settings_to_form)):
            signal.connect(lambda slot=slot: slot())

    # -- runs root and run list --------------------------------------------------------------------
    def set_runs_root(self, root: Path) -> None:
        self.runs_root = Path(root)
        settings().setValue(SETTINGS_KEY, str(self.runs_root))
        self.runs.show_root(self.runs_root)
        self.manager.adopt_orphan_logs(self.runs_root)
        self.refresh_runs()

    def refresh_runs(self) -> None:
        """List the run folders with their states (cheap: one status.json read per run)."""
        paths = list_runs(self.runs_root)
        for run in self.manager.procs:  # started but not on disk yet
            if run not in paths and run.parent == self.runs_root:
                paths.insert(0, run)
        self.runs.set_entries([self._entry(p) for p in paths])

    def _entry(self, path: Path, status: Optional[RunStatus] = None) -> RunEntry:
        if status is None:
            status = self.status if path == self.current and self.status else read_run_status(path)
        step = status.step  # status.json is rewritten at checkpoints only; the log is newer
        if path == self.current and self.last_record:
            step = max(step, int(self.last_record.get("step") or 0))
        return RunEntry(path, self.controller.shown_state(path, status), step, status.steps, status.reason)

    def select_run(self, path: Path) -> None:
        """Show ``path`` in the run view (read from its files from the start)."""
        path = Path(path)
        if path == self.current and self.monitor is not None:
            return
        self.current = path
        self.monitor = RunMonitor(path)
        self.status, self.last_record, self.metrics = None, None, []
        self.view.clear(path)
        self.runs.select(path)
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
        if self.evaluation is not None:
            result = self.evaluation.poll()
            if result is not None:
                self._eval_done(result)
        self._ticks += 1
        if exited or self._ticks % LIST_EVERY == 0:
            self.refresh_runs()

    def _apply(self, upd: RunUpdate, force_status: bool = False) -> None:
        if upd.reset:
            self.view.plot.clear_all()
        if upd.records:
            self.view.plot.add_records(upd.records)
            self.last_record = upd.records[-1]
        if upd.sample is not None:
            self.view.show_sample(upd.sample)
        if upd.checkpoints is not None:
            self.view.fill_checkpoints(upd.checkpoints)
            self._update_buttons()
        if upd.metrics:
            self.metrics += upd.metrics
            self.view.show_metrics(self.metrics[-1])
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
        self.view.show_progress(step, steps, rec, live=st is not None and st.state == "running")

    def _show_status(self) -> None:
        st = self.status
        if st is None or self.current is None:
            return
        self.view.show_state(self.controller.shown_state(self.current, st), st.reason)
        if not self._steps_shown:  # a new run's config.json appears after its first poll
            cfg = self._config()
            if cfg:
                self.view.resume_steps.setValue(int(cfg.get("steps", 1)))
                self._steps_shown = True
        self._show_progress()
        self._show_error()
        self._update_buttons()
        self.runs.describe(self._entry(self.current, st))

    def _show_error(self) -> None:
        if self.current is None or self.monitor is None:
            return
        self.view.show_error(self.controller.error_text(self.current, self.status, self.monitor.process_log_tail(12),
                                                        self.monitor.checkpoints))

    def _update_buttons(self) -> None:
        self.view.set_actions(self.controller.actions(
            self.current, self.status, checkpoints=len(self.monitor.checkpoints) if self.monitor else 0,
            has_config=self._config() is not None, evaluating=self.evaluation is not None))

    # -- actions ---------------------------------------------------------------------------------
    def confirm(self, text: str) -> bool:
        """Ask before starting a second concurrent run (tests replace this)."""
        return QMessageBox.question(self, "GAN Studio", text) == QMessageBox.Yes

    def start_new_run(self) -> Optional[Path]:
        """A new run folder under the runs root, trained per the form; returns its path (None if refused)."""
        self.new_run.show_error("")
        try:
            cfg = self.form.config()
        except ValueError as e:
            return self.new_run.show_error(str(e))
        busy = [p.name for p in self.manager.running_runs()]
        if busy and not self.confirm(f"{', '.join(busy)} is training. Start another run at the same time?"):
            return None
        try:
            self.runs_root.mkdir(parents=True, exist_ok=True)
            run = self.runs_root / new_run_name(self.runs_root, cfg.preset)
            self.manager.start_new(run, cfg.preset, self.form.data(), self.form.settings())
        except (OSError, ValueError) as e:
            return self.new_run.show_error(f"could not start: {e}")
        self.refresh_runs()
        self.select_run(run)
        return run

    def pause_run(self) -> None:
        if self.current is not None:
            self.controller.pause(self.current)
            self.poll()

    def resume_run(self) -> None:
        """Continue a paused process, or start ``ganstudio train --resume`` on a stopped run."""
        run, st = self.current, self.status
        if run is None or st is None:
            return
        steps = self.view.resume_steps.value() if self._steps_shown else None
        try:
            self.controller.resume(run, st, steps, (self._config() or {}).get("steps"))
        except ResumeRefused as e:
            QMessageBox.warning(self, "GAN Studio", str(e))
            return
        except (OSError, ValueError) as e:
            QMessageBox.warning(self, "GAN Studio", f"Could not resume {run.name}: {e}")
            return
        self.poll()

    def stop_run(self) -> None:
        if self.current is not None:
            self.controller.stop(self.current)
            self.poll()

    def open_selected_checkpoint(self) -> None:
        path = self.view.selected_checkpoint()
        if path:
            self.open_checkpoint.emit(str(path))

    def copy_settings_to_form(self) -> None:
        cfg = self._config()
        if cfg is not None:
            try:
                self.form.set_config(TrainConfig.from_dict(cfg))
            except (ValueError, TypeError) as e:
                self.new_run.show_error(f"cannot use this run's settings: {e}")

    def evaluate_selected_checkpoint(self, n: int = EVAL_SAMPLES) -> None:
        """``ganstudio eval`` in a separate process; its result goes to RUN/metrics.jsonl and shows here."""
        ckpt = self.view.selected_checkpoint()
        if not ckpt or self.evaluation is not None or self.current is None:
            return
        try:
            self.evaluation = EvalJob(self.current, ckpt, n, python=self.manager.python, env=self.manager.env)
        except OSError as e:
            self.view.metrics_label.setText(f"Evaluation failed: {e}")
            return
        self.view.metrics_label.setText(f"Evaluating {Path(ckpt).name}…")
        self._update_buttons()

    def _eval_done(self, result: EvalResult) -> None:
        self.evaluation = None
        if result.record is None:
            if result.run == self.current:
                self.view.metrics_label.setText(f"Evaluation failed: {result.error}")
        else:
            try:
                append_metrics(result.run, result.record)  # the monitor picks it up, as a metric the trainer logged
            except OSError as e:
                self.view.metrics_label.setText(f"FCD computed but not saved: {e}")
        self._update_buttons()

    # -- closing ---------------------------------------------------------------------------------
    def shutdown(self, stop_runs: bool = False) -> None:
        """Stop polling and any evaluation; training processes keep running unless ``stop_runs``."""
        self.timer.stop()
        self.playground.shutdown()  # its worker thread ends with the window
        if self.evaluation is not None:
            self.evaluation.kill()
            self.evaluation = None
        self.manager.shutdown(stop=stop_runs)


class TrainLauncher(QObject):
    """The explorer's Train menu and the Train window it opens: built on first use, closed with the explorer."""

    def __init__(self, window: QMainWindow, open_model: Callable[[str], None], before: Optional[QAction] = None):
        super().__init__(window)
        self._window = window
        self._open_model = open_model
        self.tab: Optional[TrainTab] = None
        bar = window.menuBar()
        self.menu = QMenu("&Train", bar)
        if before is not None:
            bar.insertMenu(before, self.menu)
        else:
            bar.addMenu(self.menu)
        self.action = QAction("&Training…", window)
        self.action.setShortcut(QKeySequence("Ctrl+T"))
        self.action.setToolTip("Train a model from a preset and watch it live")
        self.action.triggered.connect(lambda _=False: self.show())
        self.menu.addAction(self.action)
        window.addAction(self.action)  # the shortcut works while the menu bar is hidden too
        window.installEventFilter(self)

    def show(self) -> TrainTab:
        """Show the Train window (built the first time), in front."""
        if self.tab is None:
            self.tab = TrainTab(self._window)
            self.tab.setWindowFlag(Qt.Window, True)
            self.tab.setWindowTitle("GAN Studio — Training")
            self.tab.resize(1500, 950)
            self.tab.open_checkpoint.connect(self._open_in_explorer)
        self.tab.show()
        self.tab.raise_()
        self.tab.activateWindow()
        return self.tab

    def _open_in_explorer(self, path: str) -> None:
        self._open_model(path)
        self._window.raise_()
        self._window.activateWindow()

    def eventFilter(self, obj, e):
        if obj is self._window and e.type() == QEvent.Close and self.tab is not None:
            self.tab.shutdown()
            self.tab.close()
        return False


def install_train_tab(window: QMainWindow, before: Optional[QAction] = None) -> TrainLauncher:
    """Give the explorer ``window`` a Train menu (inserted before the menu action ``before``, else last).

    The Train window's "Open in explorer" calls ``window.open_model(path)``.  The returned launcher owns the
    menu, its action and the Train window; nothing is added to ``window``.
    """
    return TrainLauncher(window, lambda path: window.open_model(path), before)
