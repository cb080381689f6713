"""The explorer window: model picker, image view, capability-gated dock panels, menus, status bar."""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path
from typing import Optional

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QAbstractSlider, QApplication, QComboBox, QDockWidget, QFileDialog,
                               QLabel, QMainWindow, QMenu, QMessageBox, QProgressBar, QScrollArea, QSlider,
                               QStackedWidget, QTableWidget, QTableWidgetItem, QDialog, QVBoxLayout, QHeaderView)

from ganstudio.engine import ModelInfo, Renderer, RenderResult, RenderState, load_session, save_session
from ganstudio.engine.latent_files import is_latents_file
from ganstudio.engine.process import freeze_long_lived_objects
from ganstudio.gui.app_state import AppState, Bookmark
from ganstudio.gui.device_menu import install_device_menu, preferred_renderer
from ganstudio.gui.image_view import ImageView
from ganstudio.gui.jobs import JobRunner
from ganstudio.gui.model_picker import ModelPicker
from ganstudio.gui.panels import PANELS, show_full_tab_titles
from ganstudio.gui.panels._context import PanelContext
from ganstudio.gui.render_bridge import RenderBridge
from ganstudio.gui.settings import add_recent_file, recent_files, settings, text as settings_text

SESSION_FILTER = "GAN Studio session (*.json)"
CHECKPOINT_FILTER = "Checkpoints (*.safetensors *.pt *.pth *.pkl);;All files (*)"
ZOOMS = {"1": 1, "2": 2, "3": 4, "4": 8}
SHUTDOWN_WAIT_S = 2.0  # closing waits at most this long for a render or job in flight
SLOW_RENDER_MS = 300  # a render not back after this long shows "Rendering…" over the last image


class MainWindow(QMainWindow):
    """Also the context the panels share: ``app`` (state + undo), ``jobs``, ``renderer``, ``report_error``."""

    def __init__(self, renderer: Optional[Renderer] = None, model: Optional[str] = None):
        super().__init__()
        self.setWindowTitle("GAN Studio")
        self.setAcceptDrops(True)
        # Process-wide settings (thread counts, GIL switch interval, gc) are run_app's: see engine.process.
        self.app = AppState(self)
        self.jobs = JobRunner(self)
        self._models_seen: set = set()  # models shown in this window (a first view raises their main panel)
        self.pending_open: Optional[tuple] = None  # open_model's arguments for a model still loading
        self._import_after_load: Optional[str] = None  # a latents file given before any model was open
        self.bridge = RenderBridge(renderer or preferred_renderer(), self)
        self.render = self.bridge.service  # owns the renderer; switches device and precision
        self.last_result: Optional[RenderResult] = None
        self.displayed_state: Optional[RenderState] = None
        self._frame_times: deque = deque(maxlen=120)
        self._slow_render = QTimer(self)  # large models on a CPU take seconds: say a render is coming
        self._slow_render.setSingleShot(True)
        self._slow_render.setInterval(SLOW_RENDER_MS)
        self._slow_render.timeout.connect(
            lambda: self.view.set_busy("Rendering…" if self.displayed_state != self.app.state else ""))

        self.view = ImageView()
        self.setCentralWidget(self.view)
        self.picker = ModelPicker()
        self.ctx = PanelContext(app=self.app, render=self.render, jobs=self.jobs, report_error=self.report_error,
                                show_message=lambda text, ms=4000: self.statusBar().showMessage(text, ms),
                                open_model=self.open_model, copy_image=self.copy_image,
                                shown_result=lambda: self.last_result)
        self.view.image_clicked.connect(self.ctx.view.image_clicked)
        self._build_docks()
        for slider in self.findChildren(QSlider):  # a pressed slider is a drag: the render service holds previews
            slider.sliderPressed.connect(lambda: self.render.hold(True))
            slider.sliderReleased.connect(lambda: self.render.hold(False))
        for name, panel in self.panels.items():  # until a model is open, panels have nothing to act on
            stack = self.docks[name].widget()
            stack.widget(1).setText(f"{panel.title}: open a model first (File ▸ Open or the Model list).")
            stack.setCurrentIndex(1)
        show_full_tab_titles(self)
        self._build_actions()
        from ganstudio.gui.train_tab import install_train_tab  # Train menu; its window opens on demand
        self.train_launcher = install_train_tab(self, before=self.help_menu.menuAction())
        self.actions_by_name["train"] = self.train_launcher.action
        self._install_live()
        self._build_status_bar()
        self.installEventFilter(self)  # the shortcut overrides (eventFilter)

        # Not modal, so tests (and users) can keep working while it shows; tests read its text.
        self.error_box = QMessageBox(self)
        self.error_box.setIcon(QMessageBox.Warning)
        self.error_box.setWindowTitle("GAN Studio")
        self.error_box.setWindowModality(Qt.NonModal)
        self.shortcuts_dialog: Optional[QDialog] = None

        self.app.state_changed.connect(self._submit)
        self.app.model_changed.connect(self._on_model_changed)
        self.bridge.rendered.connect(self._on_rendered)
        self.jobs.busy_changed.connect(self._on_busy)
        self.jobs.progress.connect(lambda _ch, f: self.progress.setValue(int(f * 100)))
        self.picker.model_chosen.connect(self._model_picked)
        self.picker.open_requested.connect(self.open_dialog)
        self.view.zoom_changed.connect(self.zoom_label.setText)

        s = settings()
        geometry = s.value("geometry")
        self.resize(1500, 950)
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self._default_layout = self.saveState()
        self._size_docks()
        layout = s.value("window_state")
        if isinstance(layout, QByteArray):  # the panels as the user left them (docks moved, closed, floated)
            self.restoreState(layout)
            show_full_tab_titles(self)
        if model:
            self.open_model(model)

    @property
    def renderer(self) -> Renderer:
        """The renderer the render service uses now (it changes with the device and precision)."""
        return self.render.renderer

    # -- construction ---------------------------------------------------------------------------
    def _build_docks(self) -> None:
        self.panels, self.docks = {}, {}
        first: dict = {}
        for cls, area in PANELS:
            panel = cls(self.ctx)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            # A panel with word-wrapped labels changes height with its width: with the vertical scroll bar
            # shown only as needed, a width where it appears and disappears sent the scroll area resizing
            # the panel recursively until the stack overflowed (a segfault in the tests).  Always shown,
            # the width never changes with it.
            scroll.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOn)
            scroll.setWidget(panel)
            reason = QLabel()
            reason.setWordWrap(True)
            reason.setAlignment(Qt.AlignCenter)
            reason.setMargin(16)
            stack = QStackedWidget()
            stack.addWidget(scroll)
            stack.addWidget(reason)
            dock = QDockWidget(cls.title, self)
            dock.setObjectName(f"dock_{cls.__name__}")
            dock.setWidget(stack)
            dock.setMinimumWidth(340)
            self.addDockWidget(area, dock)
            if area in first:
                self.tabifyDockWidget(first[area], dock)
            else:
                first[area] = dock
            self.panels[cls.__name__] = panel
            self.docks[cls.__name__] = dock
            dock.visibilityChanged.connect(panel.set_shown)
            # Qt makes a new tab bar when docks regroup (moved by the user, a restored layout): keep
            # its titles whole there too.
            dock.dockLocationChanged.connect(lambda _area: QTimer.singleShot(0, lambda: show_full_tab_titles(self)))
        for dock in first.values():
            dock.raise_()
        self._dock_groups = list(first.values())

    def _action(self, menu, text: str, slot, shortcut=None, name: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [shortcut])
        act.triggered.connect(slot)
        menu.addAction(act)
        self.addAction(act)  # shortcuts work while the menu bar is hidden too
        if name:
            self.actions_by_name[name] = act
        return act

    def _build_actions(self) -> None:
        self.actions_by_name: dict[str, QAction] = {}
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open model…", self.open_dialog, QKeySequence.Open, "open")
        self.recent_menu = f.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        f.addSeparator()
        self._action(f, "Open &session…", self.open_session_dialog, QKeySequence("Ctrl+Shift+O"), "open_session")
        self._action(f, "&Save session…", self.save_session_dialog, QKeySequence.Save, "save_session")
        f.addSeparator()
        self._action(f, "&Export image…", lambda: self.panels["GalleryPanel"].export_png_dialog(),
                     QKeySequence("Ctrl+E"), "export")
        self._action(f, "&Import latents…", lambda: self.panels["GalleryPanel"].import_latents_dialog(),
                     QKeySequence("Ctrl+I"), "import_latents")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.Quit, "quit")

        e = mb.addMenu("&Edit")
        undo, redo = self.app.create_undo_actions(self)
        undo.setShortcut(QKeySequence.Undo)
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        for act, name in ((undo, "undo"), (redo, "redo")):
            e.addAction(act)
            self.addAction(act)
            self.actions_by_name[name] = act
        self._action(e, "Reset to the &plain seed", self.reset_to_seed, QKeySequence("Ctrl+Shift+R"), "reset")
        e.addSeparator()
        self._action(e, "&Copy image", self.copy_image, QKeySequence.Copy, "copy")
        self._action(e, "&Bookmark", lambda: self.app.core.bookmark_current(self.ctx.displayed_image(self.app.state)),
                     QKeySequence("Ctrl+B"), "bookmark")

        lat = mb.addMenu("&Latent")
        latent = self.panels["LatentPanel"]
        self._action(lat, "&Previous seed", lambda: latent.step_seed(-1), QKeySequence(Qt.Key_Left), "prev_seed")
        self._action(lat, "&Next seed", lambda: latent.step_seed(+1), QKeySequence(Qt.Key_Right), "next_seed")
        self._action(lat, "&Random seed", latent.random_seed, QKeySequence("R"), "random_seed")

        v = self.view_menu = mb.addMenu("&View")
        self._action(v, "&Fit", self.view.set_fit, QKeySequence("F"), "fit")
        for key, z in ZOOMS.items():
            self._action(v, f"Zoom {z}×", lambda _=False, z=z: self.view.set_zoom(z), QKeySequence(key), f"zoom{z}")
        install_device_menu(self, v)
        v.addSeparator()
        self._action(v, "F&ull screen", self.toggle_full_screen, QKeySequence.FullScreen, "full_screen")
        self._action(v, "Reset &layout", self.reset_layout, name="reset_layout")
        v.addSeparator()
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())

        h = self.help_menu = mb.addMenu("&Help")
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts, QKeySequence.HelpContents, "shortcuts")
        self._action(h, "&About", lambda: QMessageBox.about(
            self, "GAN Studio", "GAN Studio: explore the latent spaces of generative models."))

        tb = self.addToolBar("Model")
        tb.setObjectName("toolbar_model")
        tb.setMovable(False)
        tb.addWidget(QLabel(" Model "))
        tb.addWidget(self.picker)

    def _install_live(self) -> None:
        """Tools: OSC and MIDI control; View: the output window (issue 20)."""
        from ganstudio.gui.osc import install_osc
        tools = QMenu("&Tools", self)
        self.menuBar().insertMenu(self.help_menu.menuAction(), tools)
        self.osc = install_osc(self, tools, self.help_menu)
        from ganstudio.gui.midi import install_midi
        self.midi = install_midi(self, tools, self.osc.log)
        from ganstudio.gui.output_window import install_output_window
        self.output = install_output_window(self, self.view_menu)

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.model_label = QLabel()
        self.device_label = QLabel(f"device: {self.render.device}")
        self.ms_label = QLabel("— ms")
        self.fps_label = QLabel("— fps")
        self.zoom_label = QLabel()
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.busy_label = QLabel()
        for w in (self.busy_label, self.progress, self.model_label, self.device_label, self.ms_label,
                  self.fps_label, self.zoom_label):
            sb.addPermanentWidget(w)

    # -- models ----------------------------------------------------------------------------------
    def open_model(self, key: str, state: Optional[RenderState] = None, bookmarks: Optional[list] = None,
                   text: str = "Open") -> None:
        """Load a model off the GUI thread; on failure an error dialog names the reason and the old model stays.

        Without ``state`` a model opened before comes back as it was left (see AppState.set_model);
        with one, that state is applied as an undo step named ``text``.
        """
        key = model_key(key)
        renderer = self.render.renderer
        self.view.set_message(f"Loading {key}…")
        self.pending_open = (key, state, bookmarks, text)  # a device / precision switch reloads this one

        def failed(msg: str) -> None:
            self.pending_open = None
            self._import_after_load = None  # its model did not come
            self.view.set_message("")
            self.picker.select(self.app.state.model)
            self.report_error(f"Could not open {key}:\n{msg}", dialog=True)

        self.jobs.submit("model", lambda: renderer.load(key),
                         lambda info: self._model_loaded(info, state, bookmarks, text),
                         failed, busy=f"Loading {Path(key).name}")

    def _model_picked(self, key: str) -> None:
        if key == self.app.state.model and self.pending_open is None:
            return  # the model on show, nothing loading: nothing to do
        self.open_model(key)  # the last choice wins, also over a load in flight

    def _model_loaded(self, info: ModelInfo, state: Optional[RenderState], bookmarks: Optional[list],
                      text: str) -> None:
        self.pending_open = None
        self.view.set_message("")
        if not info.key.startswith("registry:") and Path(info.key).exists():
            add_recent_file(str(Path(info.key).resolve()))
            self.picker.rebuild()
        # A session's own bookmarks replace the gallery; otherwise it spans models.
        self.app.set_model(info, state, text, bookmarks)
        waiting, self._import_after_load = self._import_after_load, None
        if waiting:
            self.panels["GalleryPanel"].import_latents(waiting)

    def _on_model_changed(self, info: ModelInfo) -> None:
        untrained = " (untrained)" if info.untrained and "untrained" not in info.label else ""
        self.setWindowTitle(f"GAN Studio — {info.label}{untrained}")
        self.picker.select(info.key)
        style = "color: #e08a00; font-weight: bold" if info.untrained else ""
        self.model_label.setStyleSheet(style)
        self.model_label.setText(f"{info.label}{untrained} · {info.resolution}px")
        self.device_label.setText(f"device: {self.render.device} · {info.precision}")
        self.device_label.setToolTip(info.precision_note)
        for name, panel in self.panels.items():
            stack = self.docks[name].widget()
            reason = panel.unsupported(info)
            stack.widget(1).setText(f"{panel.title} is not available for this model:\n{reason}")
            stack.setCurrentIndex(1 if reason else 0)
        self._raise_usable_docks(info)
        freeze_long_lived_objects()  # the network just loaded is long-lived too (see engine.process)
        if info.key not in self._models_seen:
            self._models_seen.add(info.key)
            if not self.panels["ClassPanel"].unsupported(info):  # a class-conditional model: its classes first
                self.docks["ClassPanel"].raise_()
        self.statusBar().clearMessage()  # a message (an error) about the model before no longer applies

    def _raise_usable_docks(self, info: ModelInfo) -> None:
        """Where a tab group shows a panel this model lacks, bring its first usable panel to the front."""
        names = {dock: name for name, dock in self.docks.items()}
        done: set = set()
        for dock, name in names.items():
            if dock in done or not self.panels[name].unsupported(info) or dock.visibleRegion().isEmpty():
                continue
            group = [dock] + [d for d in self.tabifiedDockWidgets(dock) if d in names]
            done.update(group)
            usable = [d for d in group if not self.panels[names[d]].unsupported(info)]
            if usable:
                usable[0].raise_()

    def _size_docks(self) -> None:
        # 400 + 560 px of panels beside a 640 px image at 1600 px wide; narrower windows (a laptop)
        # shrink the panels in proportion, so the image keeps ~40 % of the width.
        f = min(1.0, self.width() / 1600)
        self.resizeDocks(self._dock_groups, [max(340, int(w * f)) for w in (400, 560)][:len(self._dock_groups)],
                         Qt.Horizontal)

    def reset_layout(self) -> None:
        """Every panel back in its first place, docked and shown."""
        if self.isFullScreen():
            self.showNormal()
        self.restoreState(self._default_layout)
        for dock in self.docks.values():
            dock.setFloating(False)
            dock.show()
        for dock in self._dock_groups:
            dock.raise_()
        self._size_docks()
        show_full_tab_titles(self)
        if self.app.info is not None:
            self._raise_usable_docks(self.app.info)

    def toggle_full_screen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model or session", settings_text("last_dir", ""),
                                              CHECKPOINT_FILTER + ";;" + SESSION_FILTER)
        if path:
            settings().setValue("last_dir", str(Path(path).parent))
            self.open_path(path)

    def open_path(self, path: str) -> None:
        """A dropped or opened file: a session or latents (.json), latents (.npy, .npz) or a checkpoint."""
        if is_latents_file(path):
            if self.app.info is not None:
                self.panels["GalleryPanel"].import_latents(path)
            elif self.pending_open is not None:  # `ganstudio open latents.npy`: once the model is there
                self._import_after_load = path
            else:
                self.report_error(f"{Path(path).name}: latents belong to a model; open the model first, "
                                  f"then import them (File ▸ Import latents).", dialog=True)
            return
        if path.lower().endswith(".json"):
            self.open_session(path)
        else:
            self.open_model(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for path in recent_files():  # "&" would be read as a mnemonic marker and vanish
            self.recent_menu.addAction(path.replace("&", "&&"), lambda p=path: self.open_path(p))
        if not self.recent_menu.actions():
            self.recent_menu.addAction("(none)").setEnabled(False)

    # -- rendering -------------------------------------------------------------------------------
    def _submit(self, change) -> None:
        state = change.new
        if state.model and self.app.info is not None:
            self.bridge.submit(state)
            if not self._slow_render.isActive():  # from the first request of a drag, not the last
                self._slow_render.start()

    def _on_rendered(self, res: RenderResult, qimg) -> None:
        if res.state is None or res.state.model != self.app.state.model:
            return  # a late frame of the previous model
        self.view.set_busy("")
        if res.state == self.app.state:
            self._slow_render.stop()
        else:  # frames are flowing (a drag on a fast model): only a gap this long shows "Rendering…"
            self._slow_render.start()
        if res.error:
            self.view.set_message(f"Render failed: {res.error}")
            self.statusBar().showMessage(f"Render failed: {res.error}", 5000)
            return
        self.last_result, self.displayed_state = res, res.state
        self.view.set_message("")
        self.view.set_image(qimg)
        now = time.perf_counter()
        self._frame_times.append(now)
        recent = [t for t in self._frame_times if now - t <= 1.0]
        # A fast preview while dragging (issue 17) says so; the full image after the drag clears it.
        self.ms_label.setText(f"{res.render_ms:.1f} ms" + (f" · preview {res.preview} px" if res.preview else ""))
        self.fps_label.setText(f"{len(recent)} fps")

    def _on_busy(self, text: str) -> None:
        self.busy_label.setText(text + ("…" if text else ""))
        self.progress.setRange(0, 0)  # indeterminate until a job reports progress
        self.progress.setVisible(bool(text))

    def report_error(self, message: str, dialog: bool = False) -> None:
        self.statusBar().showMessage(message.replace("\n", " "), 8000)
        if dialog:
            self.error_box.setText(message)
            self.error_box.show()

    # -- sessions, clipboard ------------------------------------------------------------------------
    def save_session(self, path: str) -> None:
        extra = {"bookmarks": [b.state.to_dict() for b in self.app.bookmarks], "midi": self.midi.to_list()}
        try:
            save_session(path, self.app.state, extra)
        except OSError as e:  # a read-only folder, a full disk: the old file (if any) is untouched
            self.report_error(f"Could not save the session to {path}:\n{e.strerror or e}", dialog=True)
            return
        self.statusBar().showMessage(f"Saved session {path}", 4000)

    def open_session(self, path: str) -> None:
        try:
            state, extra = load_session(path)
        except ValueError as e:
            self.report_error(str(e), dialog=True)
            return
        if "midi" in extra:  # the session's knob mappings (bad entries are dropped)
            self.midi.load(extra["midi"])
        bookmarks = []
        marks = extra.get("bookmarks")
        for d in marks if isinstance(marks, list) else []:
            try:
                bookmarks.append(Bookmark(RenderState.from_dict(d)))
            except ValueError:
                pass  # one bad bookmark does not spoil the session
        # While another model loads, even a session of the current model goes through open_model: the
        # newest request wins, so that late load no longer replaces the session.
        if state.model == self.app.state.model and self.app.info is not None and self.pending_open is None:
            self.app.core.set_bookmarks(bookmarks)
            self.app.edit(state, "Open session")
        else:
            self.open_model(state.model, state, bookmarks, "Open session")

    def save_session_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", settings_text("last_dir", ""),
                                              SESSION_FILTER)
        if path:
            self.save_session(path if path.endswith(".json") else path + ".json")

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", settings_text("last_dir", ""),
                                              SESSION_FILTER)
        if path:
            self.open_session(path)

    def reset_to_seed(self) -> None:
        """One undo step back to the current seed with nothing applied: no explicit latent, edits,
        truncation, mixing or noise settings; the class and the ProGAN stage stay."""
        self.app.core.reset_to_seed()

    def copy_image(self) -> None:
        if self.view.image is not None:
            QGuiApplication.clipboard().setImage(self.view.image)
            self.statusBar().showMessage("Image copied", 2000)

    def show_shortcuts(self) -> None:
        plain = {"undo": "Undo", "redo": "Redo"}  # their live text names the step ("Undo Seed 5873")
        rows = [(plain.get(n) or a.text().replace("&", ""), keys) for n, a in self.actions_by_name.items()
                if (keys := ", ".join(s.toString(QKeySequence.NativeText) for s in a.shortcuts() if not s.isEmpty()))]
        dlg = QDialog(self)
        dlg.setWindowTitle("Keyboard shortcuts")
        table = QTableWidget(len(rows), 2)
        table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
        for r, (text, keys) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(text))
            table.setItem(r, 1, QTableWidgetItem(keys))
        QVBoxLayout(dlg).addWidget(table)
        dlg.resize(420, 520)
        dlg.show()
        self.shortcuts_dialog = dlg

    # -- keys, drag and drop, closing ---------------------------------------------------------------
    _ARROWS = (Qt.Key_Left, Qt.Key_Right, Qt.Key_Up, Qt.Key_Down)
    _ARROW_WIDGETS = (QAbstractSlider, QAbstractItemView, QComboBox)

    _TYPING_WIDGETS = (QAbstractItemView, QComboBox)

    def eventFilter(self, obj, e):
        # The seed shortcuts are plain arrow keys: a focused slider, list or combo box keeps its arrows
        # (line edits and spin boxes claim them themselves).  Unclaimed overrides bubble up to here.
        # Likewise the plain letter and digit shortcuts (R, F, 1-4): lists and combo boxes jump to the
        # item typed, so there the key is typing, not a command.
        # A filter on the window rather than an override of event(): an override ran every event of the
        # window in Python, the repaint of the whole window included, holding the GIL that the render
        # thread needs between torch calls (issue 17: dragging on a fast model).
        if (obj is self and e.type() == QEvent.ShortcutOverride
                and not (e.modifiers() & ~Qt.KeypadModifier)):
            focus = QApplication.focusWidget()
            if ((e.key() in self._ARROWS and isinstance(focus, self._ARROW_WIDGETS))
                    or (e.text().isalnum() and isinstance(focus, self._TYPING_WIDGETS))):
                e.accept()
                return True
        return False

    def dragEnterEvent(self, e):
        if e.mimeData().hasUrls() and any(u.isLocalFile() for u in e.mimeData().urls()):
            e.acceptProposedAction()

    def dropEvent(self, e):
        files = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if files:
            self.open_path(files[0])
            e.acceptProposedAction()

    def closeEvent(self, e):
        settings().setValue("geometry", self.saveGeometry())
        settings().setValue("window_state", self.saveState())
        self.shutdown()
        super().closeEvent(e)

    def shutdown(self) -> None:
        """Stop the worker threads (tests call it; closeEvent does too)."""
        for panel in self.panels.values():
            panel._refresh_timer.stop()
        # Both workers stop together and share one wait: a render in flight cannot be interrupted, and
        # the threads are daemons, so a slow one does not keep the process (or the user) waiting.
        deadline = time.monotonic() + SHUTDOWN_WAIT_S
        self.osc.close()
        self.midi.close()
        self.jobs.stop()
        self.bridge.close(SHUTDOWN_WAIT_S)
        self.jobs.close(deadline - time.monotonic())


def model_key(key: str) -> str:
    """A model string as the window keeps it: a checkpoint path made absolute (resolved as the recent
    list is), so a session saved elsewhere finds the file and the picker lists it once; shipped names and
    registry keys unchanged."""
    from ganstudio import pretrained
    if key.startswith("registry:") or pretrained.get_entry(key) or not key:
        return key
    try:
        return str(Path(key).expanduser().resolve())
    except (OSError, RuntimeError):  # a symlink loop, a bad name: the loader reports it
        return key
