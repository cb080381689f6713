"""The run folder: everything a training run writes, in files other programs can read while it runs.

Layout (``RUN`` is the folder given to ``ganstudio train --out RUN``)::

    RUN/config.json        the resolved TrainConfig, as {"format": "ganstudio-run", "version": 1,
                           "config": {...TrainConfig fields...}, "created": <unix time>};
                           written once, atomically.  Its presence marks a folder as a run folder.
    RUN/status.json        {"state": "running" | "finished" | "stopped" | "failed", "reason": str,
                           "pid": int, "step": int, "steps": int (target), "kimg": float,
                           "checkpoint": path of the newest checkpoint or null, "updated": unix time};
                           rewritten atomically at start, at every checkpoint and at the end.
                           "running" with a pid that no longer exists means the process was killed.
    RUN/log.jsonl          one JSON object per logged step, appended and flushed: {"step", "kimg",
                           "time" (unix), "elapsed_s", "img_per_s", "eta_s", "losses": {name: value},
                           and optionally "sample_path", "checkpoint", "stage", "alpha"}.  A killed
                           run may leave a partial last line: readers skip lines that do not parse.
                           On resume, lines beyond the resumed step are dropped.
    RUN/samples/step_000100.png            the sample grid of G_ema (else G) on fixed latents
    RUN/checkpoints/ckpt_000100.safetensors a ganstudio checkpoint (see ganstudio.checkpoints): opens in
                           the explorer as is; the ``extra.`` tensors and ``extra["resume"]`` hold the
                           training state.  Only the newest ``keep`` are kept; resume takes the newest
                           one that loads.  ``.<name>.*.tmp`` files are leftovers of a killed writer
                           (removed on resume, see :func:`is_temp_name`).

Step numbers are zero-padded to six digits (more when a run goes past 999999 steps).
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Iterator, Optional

from ganstudio._io import atomic_write_text
from ganstudio.checkpoints.naming import step_of

RUN_FORMAT = "ganstudio-run"
RUN_VERSION = 1
STATES = ("running", "finished", "stopped", "failed")

LOCK_FILE = ".lock"  # held by the process training the run (see training.loop.train)


class RunDir:
    """Paths and small readers/writers of one run folder."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    # -- paths ------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def log_path(self) -> Path:
        return self.path / "log.jsonl"

    @property
    def samples_dir(self) -> Path:
        return self.path / "samples"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    def sample_path(self, step: int) -> Path:
        return self.samples_dir / f"step_{step:06d}.png"

    def checkpoint_path(self, step: int) -> Path:
        return self.checkpoints_dir / f"ckpt_{step:06d}.safetensors"

    # -- what the folder is -------------------------------------------------------------------
    def is_run_dir(self) -> bool:
        try:
            return json.loads(self.config_path.read_text()).get("format") == RUN_FORMAT
        except (OSError, ValueError, AttributeError):
            return False

    def check_new(self) -> None:
        """Raise ValueError unless the folder can receive a new run (missing or empty)."""
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"--out {self.path}: exists and is not a folder")
        if self.is_run_dir():
            raise ValueError(f"--out {self.path}: is an existing run folder; pass --resume {self.path} to "
                             f"continue it, or choose another --out")
        # Only our lock and temp files (a new run killed while writing its config.json): an unstarted run.
        if self.path.is_dir() and any(p.name != LOCK_FILE and not is_temp_name(p.name) for p in self.path.iterdir()):
            raise ValueError(f"--out {self.path}: the folder is not empty and is not a run folder; "
                             f"choose an empty or new folder")

    # -- config ---------------------------------------------------------------------------------
    def write_config(self, config: dict) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        created = time.time()
        try:  # a resume rewrites the config (new total steps) but the run was created when it was
            old = json.loads(self.config_path.read_text())
            if isinstance(old, dict) and isinstance(old.get("created"), (int, float)):
                created = float(old["created"])
        except (OSError, ValueError, RecursionError):
            pass
        doc = {"format": RUN_FORMAT, "version": RUN_VERSION, "config": config, "created": created}
        atomic_write_text(self.config_path, json.dumps(doc, indent=2) + "\n")

    def read_config(self) -> dict:
        if not self.path.is_dir():
            raise ValueError(f"{self.path}: no such run folder")
        try:
            doc = json.loads(self.config_path.read_text())
        except FileNotFoundError:
            raise ValueError(f"{self.path}: not a run folder (no config.json)") from None
        except (OSError, ValueError, RecursionError) as e:
            raise ValueError(f"{self.config_path}: unreadable ({str(e)[:200]})") from None
        if not isinstance(doc, dict) or doc.get("format") != RUN_FORMAT or not isinstance(doc.get("config"), dict):
            raise ValueError(f"{self.config_path}: not a GAN Studio run config")
        version = doc.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise ValueError(f"{self.config_path}: its version is not a whole number: {str(version)[:40]!r}")
        if version > RUN_VERSION:
            raise ValueError(f"{self.config_path}: written by a newer GAN Studio (run format {doc.get('version')})")
        return doc["config"]

    # -- status ---------------------------------------------------------------------------------
    def write_status(self, state: str, *, step: int, steps: int, kimg: float, reason: str = "",
                     checkpoint: Optional[str] = None) -> None:
        assert state in STATES
        doc = {"state": state, "reason": reason, "pid": os.getpid(), "step": step, "steps": steps,
               "kimg": kimg, "checkpoint": checkpoint, "updated": time.time()}
        atomic_write_text(self.status_path, json.dumps(doc) + "\n")

    def read_status(self) -> Optional[dict]:
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, ValueError):
            return None

    # -- log --------------------------------------------------------------------------------------
    def read_log(self) -> list[dict]:
        """Every complete, parseable line of log.jsonl."""
        out = []
        try:
            text = self.log_path.read_text()
        except OSError:
            return out
        for line in text.splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
        return out

    def open_log(self) -> "RunLog":
        """The log for appending (the trainer's one writer of log.jsonl)."""
        return RunLog(self.log_path)

    def truncate_log(self, step: int) -> None:
        """Keep the log records up to ``step`` (resume), dropping partial lines."""
        if not self.log_path.exists():
            return
        keep = [r for r in self.read_log() if int(r.get("step", 0)) <= step]
        atomic_write_text(self.log_path, "".join(json.dumps(r) + "\n" for r in keep))

    # -- checkpoints -------------------------------------------------------------------------------
    def checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every checkpoint file, oldest first."""
        if not self.checkpoints_dir.is_dir():
            return []
        found = []
        for p in self.checkpoints_dir.iterdir():
            step = step_of(p) if p.suffix == ".safetensors" and p.stem.rpartition("_")[0] == "ckpt" else None
            if step is not None:
                found.append((step, p))
        return sorted(found)

    def loadable_checkpoints(self) -> Iterator[tuple[int, Path, Optional[str]]]:
        """Newest first: (step, path, None) for a checkpoint whose header reads, else (step, path, error)."""
        from ganstudio.checkpoints import CheckpointError, read_meta
        for step, p in reversed(self.checkpoints()):
            try:
                read_meta(p)
                yield step, p, None
            except CheckpointError as e:
                yield step, p, str(e)

    def prune_checkpoints(self, keep: int) -> None:
        for _, p in self.checkpoints()[:-keep] if keep > 0 else []:
            try:
                p.unlink()
            except OSError:
                pass

    def remove_temp_files(self) -> None:
        """Delete leftovers of writers that were killed mid-write (ours, and safetensors' own from
        checkpoints written before they went through our atomic write)."""
        for folder in (self.path, self.checkpoints_dir, self.samples_dir):
            if folder.is_dir():
                for p in folder.iterdir():
                    if is_temp_name(p.name) and p.is_file():
                        try:
                            p.unlink()
                        except OSError:
                            pass


class RunLog:
    """log.jsonl opened for appending: one JSON line per record, flushed at once (readers follow it live)."""

    def __init__(self, path: Path):
        self.path = path
        self._f = open(path, "a", encoding="utf-8")

    def append(self, record: dict) -> None:
        self._f.write(json.dumps(record) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


# ".config.json.k2j4.tmp" (ganstudio._io.atomic_path) and ".ckpt_000010.safetensors.tmpA1b2C3" (the
# temp file of safetensors' save_file, which older versions called; also around one of ours).
_TEMP_RE = re.compile(r"^\..+\.tmp[A-Za-z0-9_]*$")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temp file a killed writer of a run folder can leave."""
    return bool(_TEMP_RE.match(name))


def lock_run(path: Path):
    """An exclusive lock on ``path``/.lock, held by the open file returned; ValueError when taken."""
    if not path.is_dir():
        raise ValueError(f"{path}: no such run folder")
    f = open(path / LOCK_FILE, "a+")
    try:
        if os.name == "nt":
            import msvcrt
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise ValueError(f"{path}: another process is training this run; stop it first (or wait for it)") from None
    return f
