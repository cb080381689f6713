"""Training processes: `python -m ganstudio train ...` (and `ganstudio eval`) each in its own process.

A crash, a NaN or running out of memory in training ends that process only, never the window.
Nothing here needs Qt: the Train window calls :meth:`ProcessManager.poll` (and :meth:`EvalJob.poll`)
from its timer and only shows what they report.

Output goes to ``RUN/process.log``.  A new run cannot have it there from the start, because
``ganstudio train --out`` insists on an empty folder; so the child writes to
``ROOT/.logs/NAME.log`` and, once the trainer has created the run folder, that file is
hard-linked into it as ``process.log`` (the child keeps writing through the same inode).  A
trainer that fails before creating the folder (a bad data set path) gets the folder made for
it, holding just its ``process.log``, so the failure shows in the run list with its reason.

Signals (POSIX): pause = SIGSTOP and resume = SIGCONT to the process group; stop = SIGTERM to
the trainer (it saves a checkpoint and writes status "stopped"), escalated to SIGKILL after
``stop_timeout`` seconds.  Windows has no SIGSTOP: the window pauses by stopping (with a
checkpoint) and resumes with ``--resume``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ganstudio.checkpoints.naming import step_of
from ganstudio.training.monitor import PROCESS_LOG, process_state, read_run_status

POSIX = os.name == "posix"


def package_root() -> str:
    """The folder holding the ``ganstudio`` package: a child started from anywhere imports this copy."""
    import ganstudio
    return str(Path(ganstudio.__file__).resolve().parent.parent)


def child_env(extra: Optional[dict] = None) -> dict:
    """The environment of every ``python -m ganstudio ...`` child: ours, plus ``extra``, unbuffered
    output (a log that shows lines as they come) and this package first on ``PYTHONPATH``."""
    env = dict(os.environ)
    env.update(extra or {})
    env["PYTHONUNBUFFERED"] = "1"
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([package_root()] + rest)
    return env


@dataclass
class TrainProcess:
    run: Path
    argv: list
    popen: Optional[subprocess.Popen]
    pid: int
    temp_log: Optional[Path] = None  # ROOT/.logs/NAME.log until the run folder exists
    started: float = field(default_factory=time.time)
    paused: bool = False
    stop_deadline: Optional[float] = None  # SIGKILL after this time
    returncode: Optional[int] = None

    @property
    def running(self) -> bool:
        return self.returncode is None

    def exit_text(self) -> str:
        code = self.returncode
        if code is None:
            return "running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"


class ProcessManager:
    """Starts, pauses, resumes and stops training processes; one record per run folder."""

    def __init__(self, python: str = sys.executable, env: Optional[dict] = None, stop_timeout: float = 30.0):
        self.python = python
        self.env = dict(env or {})  # extra environment for the children (tests: OMP_NUM_THREADS=1)
        self.stop_timeout = stop_timeout
        self.procs: dict[Path, TrainProcess] = {}
        self._pending_kill: dict[Path, tuple[int, float]] = {}  # runs we did not start: pid, deadline

    # -- starting --------------------------------------------------------------------------------
    def train_argv(self, *args: str) -> list[str]:
        """The command line of ``ganstudio train`` with ``args``, as this interpreter runs it."""
        return [self.python, "-m", "ganstudio", "train", *args]

    def start_new(self, run: Path, preset: str, data: str, settings: list[str]) -> TrainProcess:
        """A new run into the (missing or empty) folder ``run``; ``settings`` are ``KEY=VALUE`` strings."""
        run = Path(run)
        if run.exists() and (not run.is_dir() or any(run.iterdir())):
            raise ValueError(f"{run}: the run folder already exists and is not empty")
        # "--data=VALUE": a folder whose name starts with "-" must not read as an option
        argv = self.train_argv("--preset", preset, f"--data={data}", f"--out={run}", "--quiet",
                               *[a for s in settings for a in ("--set", s)])
        logs = run.parent / ".logs"
        logs.mkdir(parents=True, exist_ok=True)
        temp_log = logs / f"{run.name}.log"
        return self.spawn(run, argv, temp_log, temp_log)

    def resume(self, run: Path, steps: Optional[int] = None) -> TrainProcess:
        """Continue ``run`` from its newest good checkpoint (``steps``: a new total)."""
        run = Path(run)
        self.forget(run)
        argv = self.train_argv("--resume", str(run), "--quiet", *(["--steps", str(steps)] if steps else []))
        return self.spawn(run, argv, run / PROCESS_LOG, None)

    def spawn(self, run: Path, argv: list[str], log_path: Path, temp_log: Optional[Path]) -> TrainProcess:
        """Run ``argv`` for ``run`` in its own process group, output appended to ``log_path``."""
        if run in self.procs and self.procs[run].running:
            raise ValueError(f"{run.name}: a training process is already running for this run")
        env = child_env(self.env)
        kw: dict = {}
        if POSIX:
            kw["start_new_session"] = True  # its own process group: pause/kill reach data workers too
        else:
            kw["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')}: {subprocess.list2cmdline(argv)}\n")
            log.flush()
            popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                     env=env, cwd=str(run.parent if run.parent.is_dir() else Path.cwd()), **kw)
        proc = TrainProcess(run=run, argv=argv, popen=popen, pid=popen.pid, temp_log=temp_log)
        self.procs[run] = proc
        return proc

    # -- control ---------------------------------------------------------------------------------
    def process(self, run: Path) -> Optional[TrainProcess]:
        return self.procs.get(Path(run))

    def pid(self, run: Path) -> Optional[int]:
        """The live training process of ``run``: ours, or the pid in its status.json (a run started earlier)."""
        proc = self.procs.get(Path(run))
        if proc is not None:
            return proc.pid if proc.running else None
        st = read_run_status(run)
        return st.pid if st.state in ("running", "paused") else None

    def pause(self, run: Path) -> None:
        """Suspend the run's process (POSIX; Windows pauses by stopping, see the module doc)."""
        self._signal_group(run, signal.SIGSTOP)
        if run in self.procs:
            self.procs[run].paused = True

    def cont(self, run: Path) -> None:
        self._signal_group(run, signal.SIGCONT)
        if run in self.procs:
            self.procs[run].paused = False

    def stop(self, run: Path) -> None:
        """Ask the trainer to checkpoint and exit; :meth:`poll` kills it if it has not after ``stop_timeout``."""
        run = Path(run)
        pid = self.pid(run)
        if pid is None:
            return
        deadline = time.time() + self.stop_timeout
        if POSIX:
            os.kill(pid, signal.SIGTERM)  # the trainer only: data workers must not die mid-batch
            self._signal_group(run, signal.SIGCONT)  # a paused process has to run to handle it
        else:
            proc = self.procs.get(run)
            if proc is not None and proc.popen is not None:
                proc.popen.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
        if run in self.procs:
            self.procs[run].paused = False
            self.procs[run].stop_deadline = deadline
        else:
            self._pending_kill[run] = (pid, deadline)

    def kill(self, run: Path) -> None:
        """End the process at once (no checkpoint; the newest saved one stays)."""
        run = Path(run)
        proc = self.procs.get(run)
        if proc is not None and proc.popen is not None and proc.running:
            if POSIX:
                self._signal_group(run, signal.SIGKILL)
            else:
                proc.popen.kill()
            return
        pid = self.pid(run)
        if pid is not None:
            self._signal_group(run, signal.SIGKILL if POSIX else signal.SIGTERM)

    def _signal_group(self, run: Path, sig) -> None:
        pid = self.pid(Path(run))
        if pid is None:
            return
        try:
            if POSIX and os.getpgid(pid) == pid:
                os.killpg(pid, sig)
            else:
                os.kill(pid, sig)
        except ProcessLookupError:
            pass

    def forget(self, run: Path) -> None:
        """Drop the record of a finished process (a resume starts a new one)."""
        proc = self.procs.get(Path(run))
        if proc is not None and not proc.running:
            del self.procs[Path(run)]

    # -- housekeeping ----------------------------------------------------------------------------
    def poll(self) -> list[TrainProcess]:
        """Reap exited processes, move logs into run folders, escalate slow stops; returns the newly exited."""
        exited = []
        now = time.time()
        for proc in list(self.procs.values()):
            if proc.running and proc.popen is not None:
                code = proc.popen.poll()
                if code is not None:
                    proc.returncode = code
                    exited.append(proc)
            self._place_log(proc)
            if proc.running and proc.stop_deadline is not None and now > proc.stop_deadline:
                proc.stop_deadline = None
                self.kill(proc.run)
        for run, (pid, deadline) in list(self._pending_kill.items()):
            if process_state(pid) == "dead":
                del self._pending_kill[run]
            elif now > deadline:
                del self._pending_kill[run]
                self.kill(run)
        return exited

    def _place_log(self, proc: TrainProcess) -> None:
        if proc.temp_log is None:
            return
        target = proc.run / PROCESS_LOG
        if (proc.run / "config.json").exists() or not proc.running:
            proc.run.mkdir(parents=True, exist_ok=True)
            try:
                if proc.running:
                    os.link(proc.temp_log, target)  # the child keeps writing to the same file
                    proc.temp_log.unlink()
                else:
                    os.replace(proc.temp_log, target)
                proc.temp_log = None
            except FileExistsError:
                proc.temp_log = None
            except OSError:
                if not proc.running:  # no hard links here: copy what there is at the end
                    shutil.copyfile(proc.temp_log, target)
                    proc.temp_log.unlink(missing_ok=True)
                    proc.temp_log = None

    def adopt_orphan_logs(self, root: Path) -> None:
        """Logs of runs started by an earlier session that closed before the run folder appeared."""
        logs = Path(root) / ".logs"
        if not logs.is_dir():
            return
        for log in logs.glob("*.log"):
            run = Path(root) / log.stem
            if run in self.procs:
                continue
            if (run / "config.json").exists() and not (run / PROCESS_LOG).exists():
                try:
                    os.link(log, run / PROCESS_LOG)
                    log.unlink()
                except OSError:
                    pass

    def running_runs(self) -> list[Path]:
        return [p.run for p in self.procs.values() if p.running]

    def shutdown(self, stop: bool = False) -> None:
        """On closing the window: leave the runs training (they are independent), or stop them.

        A paused run is stopped with a checkpoint either way: nothing would ever continue its frozen
        process, which would hold its memory until killed; Resume continues it from the checkpoint.
        """
        for run in self.running_runs():
            proc = self.procs.get(run)
            if stop or (proc is not None and proc.paused):
                self.stop(run)  # SIGCONT is part of stop(): a paused process has to run to checkpoint


# -- evaluation ------------------------------------------------------------------------------------

@dataclass
class EvalResult:
    """What one ``ganstudio eval`` run gave: a record for RUN/metrics.jsonl, or the line saying why not."""
    run: Path
    checkpoint: str
    record: Optional[dict] = None
    error: str = ""


class EvalJob:
    """``ganstudio eval CKPT --json`` in its own process; :meth:`poll` returns the result once it has ended.

    Output goes to temporary files, not pipes: nothing reads a pipe while the child runs, and a full
    pipe would block it.
    """

    def __init__(self, run: Path, checkpoint: str, n: int, python: str = sys.executable,
                 env: Optional[dict] = None):
        self.run, self.checkpoint = Path(run), str(checkpoint)
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        argv = [python, "-m", "ganstudio", "eval", self.checkpoint, "--json", "--n", str(n), "--force"]
        try:
            self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err,
                                          env=child_env(env))
        except OSError:
            self._close()
            raise

    def poll(self) -> Optional[EvalResult]:
        """None while it runs; then the result (once: the output files are closed)."""
        code = self.popen.poll()
        if code is None or self._out.closed:
            return None
        out, err = self._read(self._out), self._read(self._err)
        self._close()
        return eval_result(self.run, self.checkpoint, code, out, err)

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self._close()

    @staticmethod
    def _read(f) -> str:
        f.seek(0)
        return f.read().decode("utf-8", "replace")

    def _close(self) -> None:
        self._out.close()
        self._err.close()


def eval_result(run: Path, checkpoint: str, code: int, out: str, err: str) -> EvalResult:
    """Turn ``ganstudio eval --json`` output into a metrics record (step from the checkpoint's name)."""
    result = None
    if code == 0:
        try:
            result = json.loads(out)
        except ValueError:
            result = None
    if not isinstance(result, dict):
        lines = [ln for ln in (err or out).splitlines() if ln.strip()]
        return EvalResult(run, checkpoint, error=lines[-1] if lines else f"exit code {code}")
    keep = {k: v for k, v in result.items() if isinstance(v, (int, float, str)) and k != "checkpoint"}
    return EvalResult(run, checkpoint, record={"step": step_of(checkpoint), "checkpoint": checkpoint, **keep})
