"""The explorer's application state without Qt: the model, its RenderState, per-model undo history, the gallery.

``AppCore`` is the only writer of that state.  Every change goes through one of its methods and
is announced by an ``Event`` (napari's evented-model idea, without Qt):

- ``state_changed(StateChange)``: old and new state, the names of the fields that differ, and the
  ``source`` that asked for the change, so a panel re-syncs only the fields it shows and never
  hears its own edit back;
- ``model_changed(ModelInfo)``, ``bookmarks_changed()``, ``history_changed()``.

Every latent edit goes through ``edit()``, one undoable step holding the old and the new state.
Edits sharing a ``merge`` key merge into one step until the gesture ends (``end_gesture()``,
e.g. on slider release), so a slider drag is one undo step.  Each model is a document with its
own history: switching to another model and back finds the first as it was left, with its
history, and Undo never reaches across models, where a state of one would not fit the other.
The Qt layer (gui.app_state) wraps these events in signals and the history in Undo / Redo actions.
"""
from __future__ import annotations

import dataclasses
import itertools
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional, Sequence

import numpy as np

from ganstudio.engine.renderer import ModelInfo
from ganstudio.engine.state import RenderState

MAX_HISTORIES = 16  # models whose history and last state are kept; the least recently used goes first
MAX_STEPS = 10_000  # undo steps kept per model (a drag is one step); the oldest go first
STATE_FIELDS = frozenset(f.name for f in dataclasses.fields(RenderState))


class Event:
    """A list of callbacks, called in the order connected (on the caller's thread)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, fn: Callable[..., Any]) -> None:
        self._callbacks.append(fn)

    def disconnect(self, fn: Callable[..., Any]) -> None:
        self._callbacks.remove(fn)

    def emit(self, *args) -> None:
        for fn in list(self._callbacks):
            fn(*args)


class StateChange(NamedTuple):
    old: RenderState
    new: RenderState
    fields: frozenset  # names of the RenderState fields that differ (all of them for a re-render)
    source: Any = None  # who asked (a panel passes itself); None: undo, redo, a model or session opened

    def touches(self, names) -> bool:
        return not self.fields.isdisjoint(names)


def changed_fields(old: RenderState, new: RenderState) -> frozenset:
    return frozenset(name for name in STATE_FIELDS if getattr(old, name) != getattr(new, name))


_bookmark_ids = itertools.count(1)


@dataclass(frozen=True, eq=False)
class Bookmark:
    """A gallery entry; replaced, never changed in place (AppCore.set_thumbnails keeps its ``uid``)."""
    state: RenderState
    thumbnail: Optional[np.ndarray] = None  # uint8 [H, W, C] of the rendered state
    name: str = ""
    extra: dict = field(default_factory=dict)
    uid: int = field(default_factory=lambda: next(_bookmark_ids))  # the same entry across replacements


@dataclass
class Step:
    old: RenderState
    new: RenderState
    text: str
    merge: Any = None  # steps with the same (not None) key merge while the gesture lasts


class History:
    """One model's undo history as data: steps, and how many of them are applied."""

    def __init__(self, shape: tuple = ()):
        self.shape = shape  # what its states were made for: a same-named file with other shapes starts afresh
        self.steps: list[Step] = []
        self.index = 0  # steps[:index] are applied
        self.state: Optional[RenderState] = None  # the current state when the user left this model

    def push(self, step: Step) -> None:
        del self.steps[self.index:]  # a new step drops the redo
        last = self.steps[-1] if self.steps else None
        if step.merge is not None and last is not None and last.merge == step.merge:
            last.new, last.text = step.new, step.text  # a drag's step is named by where it ended
            if last.new == last.old:
                self.steps.pop()
        else:
            self.steps.append(step)
            del self.steps[:max(0, len(self.steps) - MAX_STEPS)]
        self.index = len(self.steps)

    def count(self) -> int:
        return len(self.steps)

    def can_undo(self) -> bool:
        return self.index > 0

    def can_redo(self) -> bool:
        return self.index < len(self.steps)

    def undo_text(self) -> str:
        return self.steps[self.index - 1].text if self.can_undo() else ""

    def redo_text(self) -> str:
        return self.steps[self.index].text if self.can_redo() else ""

    def undo(self) -> Optional[RenderState]:
        if not self.can_undo():
            return None
        self.index -= 1
        return self.steps[self.index].old

    def redo(self) -> Optional[RenderState]:
        if not self.can_redo():
            return None
        self.index += 1
        return self.steps[self.index - 1].new


def model_shape(info: ModelInfo) -> tuple:
    return (info.model_name, info.z_dim, info.w_dim, info.num_ws, info.c_dim, info.resolution, info.num_stages,
            len(info.capabilities.noise_layers))


class AppCore:
    def __init__(self) -> None:
        self.state_changed = Event()  # StateChange
        self.model_changed = Event()  # ModelInfo
        self.bookmarks_changed = Event()
        self.history_changed = Event()
        self._histories: "OrderedDict[str, History]" = OrderedDict()  # model key -> history; last = current
        self._blank = History()  # until a model opens
        self._state = RenderState()
        self._info: Optional[ModelInfo] = None
        self._bookmarks: tuple[Bookmark, ...] = ()
        self._gesture = 0

    # -- reading -----------------------------------------------------------------------------
    @property
    def state(self) -> RenderState:
        return self._state

    @property
    def info(self) -> Optional[ModelInfo]:
        return self._info

    @property
    def bookmarks(self) -> tuple[Bookmark, ...]:
        return self._bookmarks

    @property
    def history(self) -> History:
        """The current model's history."""
        return self._histories[self._state.model] if self._state.model in self._histories else self._blank

    @property
    def histories(self) -> tuple[History, ...]:
        return tuple(self._histories.values())

    # -- the state -----------------------------------------------------------------------------
    def edit(self, new: RenderState, text: str = "Edit", merge: Optional[str] = None, source: Any = None) -> None:
        """Make ``new`` the current state as one undoable step (merged with the last one of the same gesture)."""
        if new == self._state:
            return
        self.history.push(Step(self._state, new, text, None if merge is None else (merge, self._gesture)))
        self._apply(new, source)

    def end_gesture(self) -> None:
        """The next edit starts a new undo step even if it has the same merge key."""
        self._gesture += 1

    def undo(self) -> None:
        state = self.history.undo()
        if state is not None:
            self._gesture += 1
            self._apply(state, None)

    def redo(self) -> None:
        state = self.history.redo()
        if state is not None:
            self._gesture += 1
            self._apply(state, None)

    def reset_to_seed(self) -> None:
        """One undo step back to the current seed with nothing applied: no explicit latent, edits,
        truncation, mixing or noise settings; the class and the ProGAN stage stay."""
        st = self._state
        if st.model and self._info is not None:
            self.edit(RenderState(model=st.model, seed=st.seed, class_weights=st.class_weights, stage=st.stage,
                                  stage_alpha=st.stage_alpha), "Reset to the plain seed")

    def rerender(self, info: Optional[ModelInfo] = None) -> None:
        """Announce the state again, every field changed (the same model reloaded, e.g. on another device)."""
        if info is not None:
            self._info = info
        self.state_changed.emit(StateChange(self._state, self._state, STATE_FIELDS, None))

    def _apply(self, state: RenderState, source: Any) -> None:
        old, self._state = self._state, state
        self.state_changed.emit(StateChange(old, state, changed_fields(old, state), source))
        self.history_changed.emit()

    # -- models --------------------------------------------------------------------------------
    def set_model(self, info: ModelInfo, state: Optional[RenderState] = None, text: str = "Open",
                  bookmarks: Optional[Sequence[Bookmark]] = None) -> None:
        """Make ``info`` the current model, with its own history and the state it was left in.

        ``state`` (a session's, a bookmark's) is then applied as one undoable step; without one a
        model seen before comes back as it was left, and a new one starts from its default state.
        ``bookmarks`` (a session's) replace the gallery; otherwise the gallery spans models.
        """
        if self._state.model in self._histories:
            self._histories[self._state.model].state = self._state
        hist = self._histories.pop(info.key, None)
        if hist is None or hist.shape != model_shape(info):  # new, or the file now holds another network
            hist = History(model_shape(info))
        self._histories[info.key] = hist
        while len(self._histories) > MAX_HISTORIES:
            self._histories.popitem(last=False)
        self._info = info
        self._gesture += 1
        old, base = self._state, hist.state or state or RenderState(model=info.key)
        self._state = base
        if bookmarks is not None:
            self._bookmarks = tuple(bookmarks)
        self.model_changed.emit(info)
        if state is not None and state != base:
            hist.push(Step(base, state, text))
            self._state = state
        self.state_changed.emit(StateChange(old, self._state, STATE_FIELDS, None))
        self.history_changed.emit()
        if bookmarks is not None:
            self.bookmarks_changed.emit()

    # -- the gallery -----------------------------------------------------------------------------
    def add_bookmarks(self, bookmarks: Sequence[Bookmark]) -> None:
        self._bookmarks += tuple(bookmarks)
        self.bookmarks_changed.emit()

    def add_bookmark(self, bookmark: Bookmark) -> None:
        self.add_bookmarks([bookmark])

    def bookmark_current(self, thumbnail: Optional[np.ndarray] = None) -> Bookmark:
        """Bookmark the current state (``thumbnail``: its image, when the caller has it)."""
        st = self._state
        edited = st.z is not None or st.ws is not None or bool(st.edits)
        bookmark = Bookmark(st, thumbnail, f"seed {st.seed}" + (" (edited)" if edited else ""))
        self.add_bookmark(bookmark)
        return bookmark

    def remove_bookmark(self, index: int) -> None:
        marks = list(self._bookmarks)
        del marks[index]
        self._bookmarks = tuple(marks)
        self.bookmarks_changed.emit()

    def set_bookmarks(self, bookmarks: Sequence[Bookmark]) -> None:
        self._bookmarks = tuple(bookmarks)
        self.bookmarks_changed.emit()

    def set_thumbnails(self, thumbnails: dict) -> None:
        """{bookmark uid: image}: each of those bookmarks still in the gallery gets that thumbnail."""
        marks = tuple(dataclasses.replace(b, thumbnail=thumbnails[b.uid]) if b.uid in thumbnails else b
                      for b in self._bookmarks)
        if any(a is not b for a, b in zip(marks, self._bookmarks)):
            self._bookmarks = marks
            self.bookmarks_changed.emit()
