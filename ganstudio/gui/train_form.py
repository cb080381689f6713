"""The training settings form, generated from the TrainConfig dataclass.

Each setting gets a widget chosen from its default's type (or a list of choices), a plain-language
label (the setting's own name, as ``--set`` takes it, is in the tooltip), a tooltip taken from the
comment beside the field in ``ganstudio/training/presets.py`` (so the help stays in sync with the
code), and its value from the chosen preset.  The settings a first run needs are shown in a few
named groups; every other one is under "Advanced", closed until asked for.  The form turns itself
into ``ganstudio train`` arguments: the preset name, the data set and one ``KEY=VALUE`` per field
that differs from the preset.
"""
from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any, Callable, Optional

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QScrollArea, QSpinBox, QToolButton, QVBoxLayout, QWidget)

from ganstudio.training.augment import AUGMENTS
from ganstudio.training.losses import LOSSES
from ganstudio.training.presets import (DEVICES, OPTIMIZERS, REQUIRES, TrainConfig, apply_overrides, follow_data,
                                        get_preset, list_presets)
from ganstudio.training.presets import settings as train_settings

DATA_CHOICES = ("fashion-mnist", "mnist", "digits", "shapes", "shapes-upright", "shapes:2000", "emoji", "emoji-base")
CHOICES = {"loss": LOSSES, "optimizer": OPTIMIZERS, "device": DEVICES, "conditional": ("no", "auto", "yes"),
           "augment": AUGMENTS}
ADVANCED = "Advanced"
FIRST_PRESET = "dcgan"  # the recipe the form starts with: the smallest, fastest one to see results from
INT_MAX = 2**31 - 1
GEOMETRY = ("channels", "resolution")  # follow the data unless the user sets them (training.presets.follow_data)
FOLLOW_MS = 300  # the data box is read this long after the last keystroke

# The groups a first run needs, open and in this order; every other setting goes under ADVANCED.
BASIC_GROUPS = {
    "What to train": ("data", "subset", "model", "resolution", "channels", "conditional"),
    "How long": ("steps", "batch"),
    "How it learns": ("loss", "lr_g", "lr_d", "augment"),
    "Progress and saving": ("sample_every", "sample_count", "log_every", "ckpt_every", "keep", "device"),
}

# Plain-language labels; a setting missing here shows its name with spaces.
LABELS = {
    "model": "Model family", "model_config": "Model settings", "data": "Training images",
    "resolution": "Image size (px)", "channels": "Colour channels (1 or 3)", "conditional": "Use class labels",
    "flip": "Mirror images at random", "class_folders": "Subfolders are classes",
    "subset": "Use only the first N images (0 = all)", "augment": "Augment D's inputs (small data)",
    "diffaugment": "DiffAugment operations", "ada_target": "ADA target E[sign D(real)]",
    "ada_kimg": "ADA speed (kimg for p 0 to 1)", "ada_interval": "ADA adjusts p every N D steps",
    "steps": "Training steps", "batch": "Images per step (batch)", "optimizer": "Optimizer",
    "lr_g": "Generator learning rate", "lr_d": "Discriminator learning rate",
    "betas_g": "Generator Adam betas", "betas_d": "Discriminator Adam betas", "loss": "Loss",
    "k_disc": "Discriminator steps per generator step", "reuse_fakes": "Generator step reuses D's fakes",
    "clip": "Weight clipping bound (WGAN)", "gp": "Gradient penalty weight (WGAN-GP)",
    "r1": "R1 penalty weight", "r1_every": "R1 penalty every N steps", "dragan": "DRAGAN penalty weight",
    "pl": "Path length penalty weight", "pl_every": "Path length penalty every N steps",
    "lazy_adam": "Adjust Adam for lazy penalties", "drift": "Drift penalty weight (ProGAN)",
    "label_smoothing": "Label smoothing", "instance_noise": "Instance noise",
    "aux_class": "Class loss weight (ACGAN)", "info": "Information loss weight (InfoGAN)",
    "info_cont": "Continuous code weight (InfoGAN)", "info_cont_weight": "Continuous code weight (InfoGAN)",
    "ortho": "Orthogonal regularization (BigGAN)", "style_mixing": "Style mixing probability",
    "w_avg_beta": "Average w tracking decay", "vae_beta": "KL weight (beta-VAE)",
    "vq_beta": "Commitment weight (VQ-VAE)", "vq_steps": "VQ-VAE steps before the prior trains",
    "ema": "Weight averaging (EMA) decay", "phase_kimg": "Growing phase length (kimg)",
    "amp": "Mixed precision (CUDA)", "seed": "Random seed", "device": "Device",
    "num_workers": "Data loading processes", "log_every": "Log losses every N steps",
    "sample_every": "Sample grid every N steps", "sample_count": "Images in the sample grid",
    "ckpt_every": "Checkpoint every N steps", "keep": "Checkpoints kept",
}

# "Quick first look": a grid within seconds on a CPU instead of minutes (the dcgan preset's batch 128
# gave its first grid at 147 s on 2 cores).  Smaller batches and frequent samples and log lines;
# everything else stays the preset's.
QUICK_LOOK = {"batch": 16, "sample_every": 10, "sample_count": 16, "log_every": 2, "ckpt_every": 200}


def label_for(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


# Longer help where the one-line comment in presets.py is terse.
EXTRA_HELP = {
    "model_config": "Model config overrides as KEY=VALUE pairs separated by spaces, e.g. 'ngf=8 ndf=8 z_dim=16' "
                    "(the fields of the model family's config dataclass).",
    "data": "Training images: an image folder (Browse…), an IDX file or folder, or a built-in set: "
            "fashion-mnist, mnist, digits, shapes or shapes:N (N procedural images), emoji (every Noto Color "
            "Emoji glyph, 64 px colour, 9 groups) or emoji-base (without skin-tone variants).",
    "augment": "For a few hundred or thousand images: diffaugment = the same colour/translation/cutout on "
               "real and fake images (Zhao et al. 2020); ada = transforms applied with a probability p that "
               "rises while D overfits (Karras et al. 2020), plotted under the losses.",
    "loss": "ns = non-saturating, minimax, lsgan = least squares, wgan = Wasserstein (add clip or gp), hinge; "
            "ebgan, began = energy losses of an autoencoder discriminator (the ebgan / began models).",
}


def field_help() -> tuple[dict[str, str], dict[str, str]]:
    """({setting: help}, {setting: section}) from the training settings' listing, with EXTRA_HELP added."""
    helps: dict[str, str] = {}
    groups: dict[str, str] = {}
    for st in train_settings():
        helps[st.name] = st.help or st.name.replace("_", " ")
        groups[st.name] = st.section
    for name, text in EXTRA_HELP.items():
        helps[name] = f"{helps[name]}\n{text}" if helps.get(name) and helps[name] != text else text
    return helps, groups


def format_value(v: Any) -> str:
    """A TrainConfig value as ``--set`` reads it back."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return ",".join(format_value(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def parse_model_config(text: str) -> dict:
    """'ngf=8 ndf=8 z_dim=16' -> {"ngf": 8, "ndf": 8, "z_dim": 16}; ValueError on a malformed pair."""
    out = {}
    for item in _split_top_level(text):
        if "=" not in item or not item.split("=", 1)[0]:
            raise ValueError(f"model config: expected KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def _split_top_level(text: str) -> list[str]:
    """Whitespace-separated items, keeping "g_hidden=[16, 32]" whole (spaces inside brackets)."""
    items, cur, depth = [], "", 0
    for ch in text:
        if ch.isspace() and depth == 0:
            if cur:
                items.append(cur)
            cur = ""
            continue
        depth += (ch in "[{") - (ch in "]}")
        cur += ch
    if cur:
        items.append(cur)
    return items


def _compact(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def format_model_config(d: dict) -> str:
    return " ".join(f"{k}={_compact(v)}" for k, v in d.items())


def _model_defaults(model: str) -> dict:
    """The defaults of a registered model's config dataclass (fields with a plain default)."""
    import dataclasses

    from ganstudio.models import get_spec
    try:
        fields = dataclasses.fields(get_spec(model).config_cls)
    except KeyError:
        return {}
    return {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}


class DataPicker(QWidget):
    """Editable choice of a built-in data set, or a folder from a dialog."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setEditable(True)
        self.combo.addItems(DATA_CHOICES)
        self.combo.setMinimumContentsLength(12)
        self.browse = QPushButton("Folder…")
        self.browse.setToolTip("Choose a folder of images (PNG/JPEG…, or IDX files)")
        self.browse.clicked.connect(self._browse)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.combo, 1)
        lay.addWidget(self.browse)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Training images", self.text())
        if path:
            self.set_text(path)

    def text(self) -> str:
        return self.combo.currentText().strip()

    def set_text(self, text: str) -> None:
        self.combo.setCurrentText(text)


def listed_settings() -> list[tuple[str, str, str]]:
    """(section, name, help) of every training setting the form shows, in the listing's order
    (:func:`ganstudio.training.presets.settings`, the one listing of the settings)."""
    helps, groups = field_help()
    return [(groups[name], name, text) for name, text in helps.items() if name != "preset"]


def answer_key(*parts) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


class BackgroundAnswers(QObject):
    """Answers to slow questions about settings, worked out off the GUI thread and remembered.

    Reading a model's capabilities (which settings apply; whether it builds at the data's size) builds
    its networks: seconds for spectral-norm families (biggan, sagan) on a busy CPU, too long to hold the
    window.  One worker thread answers the newest question only (a form switched through presets asks many).
    """

    ready = Signal(str)  # the key whose answer has arrived

    def __init__(self, work: Callable, cache: dict, parent: Optional[QObject] = None):
        super().__init__(parent)
        self._work_fn, self._cache = work, cache  # an answer never changes: a cache may be shared
        self._lock = threading.Lock()
        self._wanted: Optional[tuple] = None
        self._worker: Optional[threading.Thread] = None

    def get(self, key: str, *args) -> Any:
        """The answer to ``work(*args)`` when known; else None, and it is worked out (``ready(key)`` says when)."""
        with self._lock:
            if key in self._cache:
                return self._cache[key]
            self._wanted = (key, args)
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="ganstudio-form")
                self._worker.start()
        return None

    def _work(self) -> None:
        while True:
            with self._lock:
                job, self._wanted = self._wanted, None
                if job is None:
                    self._worker = None
                    return
            key, args = job
            answer = self._work_fn(*args)
            with self._lock:
                self._cache[key] = answer
            try:
                self.ready.emit(key)  # queued to the GUI thread
            except RuntimeError:  # the form is gone
                pass


def _applicable(model: str, model_config: dict) -> dict[str, bool]:
    try:
        return {st.name: st.applies for st in train_settings(model, model_config)}
    except Exception:  # noqa: BLE001 - a model that does not build: every setting stays on
        return {}


def _geometry(cfg: TrainConfig, explicit: frozenset) -> tuple[dict, list[str]]:
    try:
        cfg, notes = follow_data(cfg, explicit=explicit)
    except ValueError:
        return {}, []
    return {name: getattr(cfg, name) for name in GEOMETRY}, notes


_APPLICABLE: dict = {}  # answers shared by every form
_GEOMETRY: dict = {}


def _form_box(title: str) -> tuple[QGroupBox, QFormLayout]:
    box = QGroupBox(title)
    form = QFormLayout(box)
    form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
    form.setLabelAlignment(Qt.AlignRight)
    return box, form


class ConfigForm(QWidget):
    """Every training setting under a plain label: a few groups a first run needs, the rest under Advanced."""

    preset_changed = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        listed = listed_settings()
        self.helps = {name: text for _s, name, text in listed}
        self.widgets: dict[str, QWidget] = {}
        self.labels: dict[str, QLabel] = {}
        self.groups: dict[str, str] = {}  # setting -> the group it is shown in
        self.edited: set[str] = set()  # settings the user changed since the preset (or a run's settings) was shown
        self._loading = False  # the form itself is filling the widgets: not the user's edits
        self.data_note = QLabel()
        self.data_note.setWordWrap(True)
        self.data_note.setStyleSheet("color: #2e7fc9")
        self.data_note.hide()
        self._follow_timer = QTimer(self)
        self._follow_timer.setSingleShot(True)
        self._follow_timer.setInterval(FOLLOW_MS)
        self._follow_timer.timeout.connect(self._follow_data_soon)
        self.applicability = BackgroundAnswers(_applicable, _APPLICABLE, self)
        self.applicability.ready.connect(lambda key: key == self._applicable_key() and self.show_applicable())
        self.geometry = BackgroundAnswers(_geometry, _GEOMETRY, self)
        self.geometry.ready.connect(self._geometry_ready)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(self._build_top())
        self._build_rows(lay, {name: section for section, name, _help in listed})
        lay.addStretch(1)
        self.preset.currentIndexChanged.connect(lambda _i: self._preset_chosen())
        self.quick.toggled.connect(self._quick_toggled)
        self.widgets["model"].currentTextChanged.connect(lambda _t: self._loading or self.show_applicable())
        self.widgets["model_config"].editingFinished.connect(self.show_applicable)
        self._preset_chosen()

    def _build_rows(self, lay: QVBoxLayout, sections: dict[str, str]) -> None:
        """The basic groups, open; then every other setting in its section under a closed Advanced."""
        forms: dict[str, QFormLayout] = {}
        for group, names in BASIC_GROUPS.items():
            box, forms[group] = _form_box(group)
            lay.addWidget(box)
            for name in names:
                if name in sections:
                    self._add_row(forms[group], name, group)
        forms["What to train"].addRow(self.data_note)
        self.advanced_btn = QToolButton()
        self.advanced_btn.setText(f"{ADVANCED} settings")
        self.advanced_btn.setCheckable(True)
        self.advanced_btn.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.advanced_btn.setArrowType(Qt.RightArrow)
        self.advanced_btn.setToolTip("Optimizer details, regularizers and tricks, model settings, seed…")
        self.advanced_btn.toggled.connect(self.show_advanced)
        lay.addWidget(self.advanced_btn)
        self.advanced = QWidget()
        adv = QVBoxLayout(self.advanced)
        adv.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.advanced)
        basic = {name for names in BASIC_GROUPS.values() for name in names}
        for name, section in sections.items():
            if name not in basic:  # under Advanced, in the section the setting belongs to
                group = f"{ADVANCED}: {section}"
                if group not in forms:
                    box, forms[group] = _form_box(section[:1].upper() + section[1:])
                    adv.addWidget(box)
                self._add_row(forms[group], name, group)
        self.advanced.setVisible(False)

    def _build_top(self) -> QFormLayout:
        self.preset = QComboBox()
        for name in list_presets():
            p = get_preset(name)
            self.preset.addItem(f"{name}   ({p.model}, {p.loss})", name)
        self.preset.setCurrentIndex(max(0, self.preset.findData(FIRST_PRESET)))
        self.preset.setToolTip("Family and training recipe; every setting below starts from it")
        self.quick = QCheckBox("Quick first look")
        self.quick.setToolTip("A sample grid within seconds on a CPU: " + ", ".join(
            f"{label_for(k).lower()} {v}" for k, v in QUICK_LOOK.items()) + " (the rest as the preset says)")
        top = QFormLayout()
        top.addRow("Recipe", self.preset)
        top.addRow("", self.quick)
        return top

    def _add_row(self, form: QFormLayout, name: str, group: str) -> None:
        w = self._make_widget(name)
        tip = f"{self.helps[name]}\n(setting: {name})"
        w.setToolTip(tip)
        label = QLabel(label_for(name))
        label.setToolTip(tip)
        form.addRow(label, w)
        self.widgets[name] = w
        self.labels[name] = label
        self.groups[name] = group
        self._watch(name, w)

    def _watch(self, name: str, w: QWidget) -> None:
        """Note the user's edits; a new data set is looked at once typing pauses."""
        if isinstance(w, DataPicker):
            w.combo.currentTextChanged.connect(lambda _t: self._loading or self._follow_timer.start())
            return
        changed = {QSpinBox: "valueChanged", QComboBox: "currentTextChanged", QCheckBox: "toggled",
                   QLineEdit: "textChanged"}[type(w)]
        getattr(w, changed).connect(lambda *_a: self._loading or self.edited.add(name))

    def _model_and_config(self) -> tuple[str, dict]:
        try:
            return self.value("model"), self.value("model_config")
        except ValueError:  # does not parse: Start names it
            return self.value("model"), {}

    def _applicable_key(self) -> str:
        return answer_key(*self._model_and_config())

    def show_applicable(self) -> None:
        """Grey out the settings that mean nothing for the chosen model, saying why in their tooltips
        (once known: see :class:`BackgroundAnswers`; until then every setting stays on)."""
        model, model_config = self._model_and_config()
        applies = self.applicability.get(answer_key(model, model_config), model, model_config)
        if applies is None:
            return
        for name, w in self.widgets.items():
            on = applies.get(name, True)
            tip = f"{self.helps[name]}\n(setting: {name})"
            if not on:
                tip += f"\nDoes not apply to {model}: only to {REQUIRES[name][1]}."
            for part in (w, self.labels[name]):
                part.setEnabled(on)
                part.setToolTip(tip)

    def show_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_btn.setArrowType(Qt.DownArrow if on else Qt.RightArrow)
        if self.advanced_btn.isChecked() != on:
            self.advanced_btn.setChecked(on)

    # -- widgets ---------------------------------------------------------------------------------
    def _make_widget(self, name: str) -> QWidget:
        default = getattr(TrainConfig(), name)
        if name == "data":
            return DataPicker()
        if name == "model":
            from ganstudio.models import list_models
            w = QComboBox()
            w.addItems(list_models())
            return w
        if name in CHOICES:
            w = QComboBox()
            w.addItems(list(CHOICES[name]))
            return w
        if isinstance(default, bool):
            return QCheckBox()
        if isinstance(default, int):
            w = QSpinBox()
            w.setRange(0, INT_MAX)
            w.setAccelerated(True)
            return w
        w = QLineEdit()
        if name == "model_config":
            w.setPlaceholderText("e.g. ngf=8 ndf=8")
        return w

    def value(self, name: str) -> Any:
        """The widget's value, typed like the TrainConfig field; ValueError when it does not parse."""
        w = self.widgets[name]
        default = getattr(TrainConfig(), name)
        if isinstance(w, DataPicker):
            return w.text()
        if isinstance(w, QComboBox):
            return w.currentText()
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QSpinBox):
            return int(w.value())
        text = w.text().strip()
        if name == "model_config":
            return parse_model_config(text)
        try:
            if isinstance(default, tuple):
                return tuple(float(x) for x in text.strip("()[]").split(",") if x.strip())
            if isinstance(default, float):
                return float(text)
        except ValueError:
            raise ValueError(f"{name}: not a number: {text!r}") from None
        return text

    def set_value(self, name: str, v: Any) -> None:
        w = self.widgets[name]
        if isinstance(w, DataPicker):
            w.set_text(str(v))
        elif isinstance(w, QComboBox):
            if w.findText(str(v)) < 0:
                w.addItem(str(v))
            w.setCurrentText(str(v))
        elif isinstance(w, QCheckBox):
            w.setChecked(bool(v))
        elif isinstance(w, QSpinBox):
            w.setValue(int(v))
        elif name == "model_config":
            w.setText(format_model_config(dict(v)))
        elif isinstance(v, tuple | list):
            w.setText(", ".join(repr(float(x)) for x in v))
        elif isinstance(v, float):
            w.setText(repr(v))
        else:
            w.setText(str(v))

    # -- whole form ------------------------------------------------------------------------------
    def preset_name(self) -> str:
        return str(self.preset.currentData())

    def set_preset(self, name: str) -> None:
        i = self.preset.findData(name)
        if i < 0:
            raise ValueError(f"unknown preset {name!r}")
        if i == self.preset.currentIndex():
            self._preset_chosen()
        else:
            self.preset.setCurrentIndex(i)

    def _preset_chosen(self) -> None:
        cfg = get_preset(self.preset_name())
        if self.quick.isChecked():
            cfg = dataclasses.replace(cfg, **QUICK_LOOK)
        self.set_config(cfg, preset=False)
        self._follow_data_soon()
        self.preset_changed.emit(self.preset_name())

    def set_quick(self, on: bool) -> None:
        """Tick or clear "Quick first look" (the settings it changes go back to the preset's when cleared)."""
        self.quick.setChecked(on)

    def _quick_toggled(self, on: bool) -> None:
        base = get_preset(self.preset_name())
        self._loading = True
        try:
            for name, v in QUICK_LOOK.items():  # only these: the user's other edits stay
                self.set_value(name, v if on else getattr(base, name))
        finally:
            self._loading = False

    def set_config(self, cfg: TrainConfig, preset: bool = True) -> None:
        """Show ``cfg`` (e.g. a run's config, to start another like it: its channels and resolution are then kept
        as if the user had set them).  ``preset=False``: ``cfg`` is the current preset's own."""
        if preset and self.preset.findData(cfg.preset) >= 0 and cfg.preset != self.preset_name():
            self.preset.blockSignals(True)
            self.preset.setCurrentIndex(self.preset.findData(cfg.preset))
            self.preset.blockSignals(False)
        self._loading = True
        try:
            for name in self.widgets:
                self.set_value(name, getattr(cfg, name))
        finally:
            self._loading = False
        self.edited = set(GEOMETRY) if preset else set()
        self.show_applicable()

    def follow_data(self) -> list[str]:
        """Show the channels and resolution training will use on the chosen data (the data decides unless the
        user set them), and say so under the data box; returns those notes.  Waits for the answer: the form
        itself asks :meth:`_follow_data_soon`, which does not."""
        self._follow_timer.stop()
        asked = self._geometry_question()
        if asked is None:
            return []
        key, cfg, explicit = asked
        return self._show_geometry(_geometry(cfg, explicit))

    def _geometry_question(self) -> Optional[tuple[str, TrainConfig, frozenset]]:
        """(key, config, explicit) of what follow_data depends on: the preset, the data, the model and the
        geometry the user set (an edit elsewhere while the answer is worked out does not void it)."""
        explicit = frozenset(self.edited & set(GEOMETRY))
        try:
            over = {"data": self.value("data"), "model": self.value("model"),
                    "model_config": self.value("model_config"), **{g: self.value(g) for g in explicit}}
            cfg = apply_overrides(get_preset(self.preset_name()), over)
        except ValueError:  # a field that does not parse: Start names it
            return None
        return answer_key(self.preset_name(), over, sorted(explicit)), cfg, explicit

    def _follow_data_soon(self) -> None:
        """:meth:`follow_data` once the answer is known (at once when it is: data sets seen before)."""
        self._follow_timer.stop()
        asked = self._geometry_question()
        if asked is None:
            return
        answer = self.geometry.get(*asked)
        if answer is not None:
            self._show_geometry(answer)
        else:
            self.data_note.hide()  # the last data set's note no longer holds

    def _geometry_ready(self, key: str) -> None:
        asked = self._geometry_question()
        if asked is not None and asked[0] == key:  # still the question: the user has not moved on
            self._show_geometry(self.geometry.get(*asked))

    def _show_geometry(self, answer: tuple[dict, list[str]]) -> list[str]:
        values, notes = answer
        self._loading = True
        try:
            for name, v in values.items():
                if name not in self.edited and name in self.widgets:
                    self.set_value(name, v)
        finally:
            self._loading = False
        self.data_note.setText("\n".join(notes))
        self.data_note.setVisible(bool(notes))
        return notes

    def settings(self) -> list[str]:
        """``KEY=VALUE`` for every field that differs from the preset, and for channels and resolution when the
        user set them (the trainer then keeps them, whatever the data); data excluded: it is --data."""
        base = get_preset(self.preset_name())
        out = []
        for name in self.widgets:
            if name == "data":
                continue
            v = self.value(name)
            if name == "model_config":
                for k, mv in v.items():
                    if base.model_config.get(k, object()) != mv:
                        out.append(f"model.{k}={_compact(mv)}")
                # A preset setting cleared from the box means the model's own default, said explicitly
                # (leaving it out would keep the preset's value).
                defaults = _model_defaults(base.model)
                for k in base.model_config:
                    if k not in v and k in defaults:
                        out.append(f"model.{k}={_compact(defaults[k])}")
                continue
            if v != getattr(base, name) or (name in GEOMETRY and name in self.edited):
                out.append(f"{name}={format_value(v)}")
        return out

    def config(self) -> TrainConfig:
        """The resolved config the trainer will use; ValueError naming the first bad field."""
        cfg = get_preset(self.preset_name())
        cfg.data = self.value("data")
        if not cfg.data:
            raise ValueError("data: choose a data set or an image folder")
        return apply_overrides(cfg, self.settings())

    def data(self) -> str:
        """The data value to train on: a path that exists here becomes absolute (the trainer runs in the
        runs folder, so a relative one would name another folder), a data set name stays as typed."""
        d = self.value("data")
        if not d:
            return d
        p = Path(d).expanduser()
        if p.exists() or "/" in d or "\\" in d or d.startswith("~"):
            return str(p.resolve()) if p.exists() else str(p)
        return d


class NewRunForm(QWidget):
    """The settings form in a scroll area, the reason a start was refused, and the Start button."""

    start_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.form = ConfigForm()
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(self.form)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setMinimumWidth(self.form.sizeHint().width() + 24)
        self.start_btn = QPushButton("Start training")
        self.start_btn.setToolTip("Start a new run with these settings in a new folder under the runs folder")
        self.start_btn.clicked.connect(lambda _=False: self.start_requested.emit())
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #d0342c")
        self.error.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 4)
        lay.addWidget(QLabel("<b>New run</b>"))
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.error)
        lay.addWidget(self.start_btn)

    def show_error(self, text: str) -> None:
        """Why the run was not started; "" hides it."""
        self.error.setText(text)
        self.error.setVisible(bool(text))
