"""Read a run folder while another process writes it: incremental log tail, status, samples, checkpoints.

No Qt here: the Train tab polls a :class:`RunMonitor` from a timer, a script can do the same.
Every read is cheap and incremental (``log.jsonl`` from a byte offset, folders re-listed only
when their mtime changes), so a run logged for hours costs nothing more per poll than a new one.

States a monitor reports (``RunStatus.state``): the trainer's own ``running | finished |
stopped | failed`` (see :mod:`ganstudio.training.run_dir`), plus

* ``paused``: running, but the process is stopped by a signal (SIGSTOP);
* ``stopped unexpectedly``: status.json says running but its process is gone (killed from
  outside, out of memory, a crash that could not write status.json);
* ``starting``: config.json is written but not status.json yet;
* ``failed`` for a folder with only a ``process.log``: the trainer exited before writing
  anything (e.g. a bad data set path); the reason is the log's last line.
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ganstudio.training.run_dir import RunDir

PROCESS_LOG = "process.log"  # the trainer's stdout + stderr, written by whoever started it (the GUI)
METRICS_LOG = "metrics.jsonl"  # one JSON object per evaluation of a checkpoint ({"step", "checkpoint", "fcd", ...})
_SAMPLE_RE = re.compile(r"^step_(\d+)\.png$")
UNEXPECTED = "stopped unexpectedly"


# -- processes ------------------------------------------------------------------------------------

def process_state(pid: Optional[int], not_before: Optional[float] = None) -> str:
    """``alive``, ``paused`` (stopped by a signal) or ``dead``.

    ``not_before`` (a unix time the process is known to have been running at, e.g. the
    status file's "updated") rejects a recycled pid: a process started after it is another one.
    """
    try:
        pid = int(pid)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "dead"
    if pid <= 0:
        return "dead"
    if sys.platform == "win32":
        return "alive" if _windows_alive(pid) else "dead"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "dead"
    except PermissionError:
        return "alive"  # exists, belongs to someone else
    except OSError:
        return "dead"
    stat = _linux_stat(pid)
    if stat is None:
        return "alive"  # no /proc (macOS): os.kill is all we know
    state, start = stat
    if state in "ZXx":  # a zombie has exited; only its parent has not reaped it yet
        return "dead"
    if not_before is not None and start is not None and start > not_before + 1.0:
        return "dead"
    return "paused" if state in "Tt" else "alive"


def _linux_stat(pid: int) -> Optional[tuple[str, Optional[float]]]:
    """(state letter, start time as unix time) from /proc, or None where there is no /proc."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ("X", None) if Path("/proc/self/stat").exists() else None
    except OSError:
        return None
    # The command name may contain spaces and parentheses: the fields start after the last ")".
    fields = text[text.rfind(")") + 2:].split()
    start = None
    try:
        ticks = int(fields[19])  # field 22 of stat(5), counted from field 3
        start = _boot_time() + ticks / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        pass
    return fields[0] if fields else "?", start


_BOOT_TIME: Optional[float] = None


def _boot_time() -> float:
    global _BOOT_TIME
    if _BOOT_TIME is None:
        _BOOT_TIME = 0.0
        try:
            for line in Path("/proc/stat").read_text().splitlines():
                if line.startswith("btime "):
                    _BOOT_TIME = float(line.split()[1])
        except OSError:
            pass
    return _BOOT_TIME


def _windows_alive(pid: int) -> bool:
    import ctypes
    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


# -- files ------------------------------------------------------------------------------------------

class JsonlTail:
    """New complete lines of a growing JSON-lines file, read from a byte offset.

    A partial last line (a writer mid-line, or killed mid-line) is left for the next read.
    A file that shrank or was replaced (resume truncates the log atomically) is read again
    from the start, and :meth:`read_new` says so.
    """

    def __init__(self, path: str | os.PathLike, max_bytes: int = 1 << 20):
        self.path = Path(path)
        self.offset = 0
        self.max_bytes = max_bytes  # per call, so a long history loads over a few polls
        self._ident: Optional[tuple[int, int]] = None

    def read_new(self) -> tuple[list[dict], bool]:
        """(records appended since the last call, whether the file was reset and this is a re-read)."""
        try:
            st = os.stat(self.path)
        except OSError:
            reset = self._ident is not None
            self._ident, self.offset = None, 0
            return [], reset
        ident = (st.st_dev, st.st_ino)
        reset = self._ident is not None and (ident != self._ident or st.st_size < self.offset)
        if reset:
            self.offset = 0
        self._ident = ident
        if st.st_size <= self.offset:
            return [], reset
        want = st.st_size - self.offset
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(min(want, self.max_bytes))
            end = data.rfind(b"\n")
            while end < 0 and len(data) < want:  # one line longer than max_bytes
                more = f.read(self.max_bytes)
                if not more:
                    break
                data += more
                end = data.rfind(b"\n")
        if end < 0:
            return [], reset
        self.offset += end + 1
        records = []
        for line in data[:end + 1].splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn line of a killed writer
            if isinstance(rec, dict):
                records.append(rec)
        return records, reset

    @property
    def done(self) -> bool:
        """Whether everything in the file (up to its current size) has been read."""
        try:
            return os.stat(self.path).st_size <= self.offset
        except OSError:
            return True


def tail_lines(path: str | os.PathLike, n: int = 20, max_bytes: int = 16384) -> list[str]:
    """The last ``n`` non-empty lines of a text file (progress lines split at carriage returns)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace").replace("\r", "\n")
    lines = [ln.rstrip() for ln in text.split("\n") if ln.strip()]
    if size > max_bytes and lines:
        lines = lines[1:]  # the first one is probably cut
    return [_strip_ansi(ln) for ln in lines[-n:]]


def _strip_ansi(s: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", s)


# -- runs ---------------------------------------------------------------------------------------------

@dataclass
class RunStatus:
    state: str  # see the module docstring
    reason: str = ""
    step: int = 0
    steps: int = 0
    pid: Optional[int] = None
    checkpoint: Optional[str] = None
    updated: float = 0.0

    @property
    def active(self) -> bool:
        """A process is (or should be) working on the run."""
        return self.state in ("running", "paused", "starting")


@dataclass
class RunUpdate:
    """What changed since the previous :meth:`RunMonitor.poll`."""
    status: RunStatus
    records: list = field(default_factory=list)  # new log.jsonl records, oldest first
    reset: bool = False  # the log was rewritten (resume): drop what was shown and take ``records``
    sample: Optional[Path] = None  # the newest sample grid, when it changed
    checkpoints: Optional[list] = None  # [(step, path)] oldest first, when the list changed
    metrics: list = field(default_factory=list)  # new evaluations (metrics.jsonl and log "metrics" keys)
    status_changed: bool = False


def read_run_status(path: str | os.PathLike) -> RunStatus:
    """The effective state of a run folder (see the module docstring), from its files and its process."""
    run = RunDir(path)
    doc = run.read_status()
    if not isinstance(doc, dict) or doc.get("state") not in ("running", "finished", "stopped", "failed"):
        if run.config_path.exists():
            return RunStatus("starting")
        lines = tail_lines(run.path / PROCESS_LOG, 5)
        if lines:
            return RunStatus("failed", reason=_error_line(lines))
        return RunStatus("starting")
    st = RunStatus(state=doc["state"], reason=str(doc.get("reason") or ""), step=_int(doc.get("step")),
                   steps=_int(doc.get("steps")), pid=_int(doc.get("pid")) or None,
                   checkpoint=doc.get("checkpoint") or None, updated=float(doc.get("updated") or 0.0))
    if st.state == "running":
        proc = process_state(st.pid, not_before=st.updated or None)
        if proc == "dead":
            st.state = UNEXPECTED
            st.reason = (f"the training process (pid {st.pid}) ended without recording why: killed from outside, "
                         f"out of memory or crashed; the last checkpoint is kept")
        elif proc == "paused":
            st.state = "paused"
    return st


def _error_line(lines: list[str]) -> str:
    for ln in reversed(lines):
        if "error" in ln.lower() or "Error" in ln:
            return ln
    return lines[-1]


def _int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return 0


class RunMonitor:
    """Polls one run folder; each :meth:`poll` returns only what is new."""

    def __init__(self, path: str | os.PathLike):
        self.run = RunDir(path)
        self.path = self.run.path
        self.log = JsonlTail(self.run.log_path)
        self.metrics_log = JsonlTail(self.path / METRICS_LOG)
        self._status_key = None
        self._status: Optional[RunStatus] = None
        self._samples_mtime: object = ()
        self._sample: Optional[Path] = None
        self._ckpt_key: object = ()  # never a stat key: the first poll lists the folder
        self._checkpoints: list = []

    @property
    def name(self) -> str:
        return self.path.name

    def config(self) -> Optional[dict]:
        try:
            return self.run.read_config()
        except ValueError:
            return None

    def status(self) -> RunStatus:
        if self._status is None:
            self._status = read_run_status(self.path)
        return self._status

    def poll(self) -> RunUpdate:
        # Status: re-read when the file changed, and while running (the process may have died).
        key = _stat_key(self.run.status_path), _stat_key(self.path / PROCESS_LOG)
        prev = self._status
        if key != self._status_key or prev is None or prev.active:
            self._status_key = key
            self._status = read_run_status(self.path)
        status = self._status
        upd = RunUpdate(status=status, status_changed=prev is None or prev != status)
        upd.records, upd.reset = self.log.read_new()
        upd.metrics = [r["metrics"] | {"step": r.get("step")} for r in upd.records
                       if isinstance(r.get("metrics"), dict)]
        metrics, _ = self.metrics_log.read_new()
        upd.metrics += metrics
        sample = self._newest_sample(upd.records)
        if sample is not None and sample != self._sample:
            self._sample = upd.sample = sample
        ckpt_key = _stat_key(self.run.checkpoints_dir)
        first = self._ckpt_key == ()
        if ckpt_key != self._ckpt_key or any("checkpoint" in r for r in upd.records):
            self._ckpt_key = ckpt_key
            ckpts = self.run.checkpoints()
            if ckpts != self._checkpoints or first:
                self._checkpoints = ckpts
                upd.checkpoints = list(ckpts)
        return upd

    @property
    def checkpoints(self) -> list:
        return list(self._checkpoints)

    @property
    def sample(self) -> Optional[Path]:
        return self._sample

    def _newest_sample(self, records: list[dict]) -> Optional[Path]:
        mtime = _stat_key(self.run.samples_dir)
        if mtime == self._samples_mtime:
            return None
        self._samples_mtime = mtime
        for r in reversed(records):  # the log names it: no need to list the folder
            p = r.get("sample_path")
            if p and Path(p).is_file():
                return Path(p)
        best = None
        try:
            for entry in os.scandir(self.run.samples_dir):
                m = _SAMPLE_RE.match(entry.name)
                if m and (best is None or int(m.group(1)) > best[0]):
                    best = (int(m.group(1)), Path(entry.path))
        except OSError:
            return None
        return best[1] if best else None

    def process_log_tail(self, n: int = 20) -> list[str]:
        return tail_lines(self.path / PROCESS_LOG, n)


def _stat_key(path: Path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


def is_run_folder(path: str | os.PathLike) -> bool:
    """A run folder, or the remains of a run that failed before writing one (only a process.log)."""
    p = Path(path)
    return (p / "config.json").is_file() or (p / PROCESS_LOG).is_file()


def list_runs(root: str | os.PathLike) -> list[Path]:
    """Run folders directly under ``root``, newest first (hidden folders skipped)."""
    root = Path(root)
    found = []
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    for e in entries:
        if e.name.startswith(".") or not e.is_dir():
            continue
        p = Path(e.path)
        if is_run_folder(p):
            found.append((_created(p), p))
    return [p for _, p in sorted(found, key=lambda t: (-t[0], t[1].name))]


def _created(p: Path) -> float:
    try:
        return float(json.loads((p / "config.json").read_text()).get("created", 0.0))
    except (OSError, ValueError, AttributeError, TypeError):
        pass
    try:
        return os.stat(p / PROCESS_LOG).st_mtime
    except OSError:
        return 0.0


def new_run_name(root: str | os.PathLike, preset: str, now: Optional[float] = None) -> str:
    """``<preset>-<YYYYmmdd-HHMMSS>``, with a numeric suffix if that folder already exists."""
    base = f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', preset)}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}"
    name, i = base, 2
    while (Path(root) / name).exists():
        name, i = f"{base}-{i}", i + 1
    return name


def append_metrics(path: str | os.PathLike, record: dict) -> None:
    """Append one evaluation to the run's metrics.jsonl (one line, flushed; readers skip torn lines)."""
    with open(Path(path) / METRICS_LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
        f.flush()
