"""The Train window's run state machine, without Qt: what the selected run shows, which actions are enabled,
and what pause / resume / stop do to its process.

The window asks :meth:`RunController.actions` after every poll and enables its buttons from the answer;
its buttons call :meth:`pause`, :meth:`resume` and :meth:`stop`.  A script (or a test) can drive a run the
same way with a :class:`~ganstudio.training.process.ProcessManager` and a
:class:`~ganstudio.training.monitor.RunMonitor`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from ganstudio.training.monitor import PROCESS_LOG, UNEXPECTED, RunStatus
from ganstudio.training.process import POSIX, ProcessManager

ENDED = ("stopped", "failed", UNEXPECTED, "finished")  # states a run resumes from with --resume
LIVE = ("running", "paused", "starting")  # states with a process that Stop ends
USAGE_ERROR = 2  # the trainer's exit code when it refused before touching the run


@dataclass(frozen=True)
class Actions:
    """Which of the run view's actions are enabled."""
    pause: bool = False
    resume: bool = False
    stop: bool = False
    resume_steps: bool = False  # the "to step" box of Resume
    open: bool = False  # open the chosen checkpoint in the explorer
    evaluate: bool = False
    copy_settings: bool = False


class ResumeRefused(ValueError):
    """Resume cannot do what was asked; the message says why, and nothing was started."""


class RunController:
    """Decides, from a run's status and its process, what the user can do with it, and does it."""

    def __init__(self, manager: ProcessManager, posix: bool = POSIX):
        self.manager = manager
        self.posix = posix  # without SIGSTOP, pause = stop with a checkpoint, resume = --resume
        self.soft_paused: set[Path] = set()

    def shown_state(self, run: Optional[Path], status: Optional[RunStatus]) -> str:
        """The state to show: a run stopped by a soft pause reads "paused"."""
        if status is None:
            return ""
        if run in self.soft_paused and status.state == "stopped":
            return "paused"
        return status.state

    def actions(self, run: Optional[Path], status: Optional[RunStatus], *, checkpoints: int = 0,
                has_config: bool = False, evaluating: bool = False) -> Actions:
        """The enabled actions for ``run`` (None: no run selected) in ``status`` with ``checkpoints`` saved."""
        if run is None:
            return Actions()
        state = status.state if status else ""
        soft = run in self.soft_paused
        proc = self.manager.process(run)
        exiting = proc is not None and proc.running and state != "paused"  # wrote "stopped", not gone yet
        return Actions(
            pause=state == "running",
            stop=state in LIVE or (soft and state == "stopped"),
            resume=state == "paused" or (state in ENDED and checkpoints > 0 and not exiting),
            resume_steps=state != "paused",
            open=checkpoints > 0,
            evaluate=checkpoints > 0 and not evaluating,
            copy_settings=has_config,
        )

    # -- actions ---------------------------------------------------------------------------------
    def pause(self, run: Path) -> None:
        """Suspend the process (POSIX), else stop it with a checkpoint and show it as paused."""
        if self.posix:
            self.manager.pause(run)
        else:
            self.manager.stop(run)
            self.soft_paused.add(run)

    def stop(self, run: Path) -> None:
        self.soft_paused.discard(run)
        self.manager.stop(run)

    def resume(self, run: Path, status: RunStatus, steps: Optional[int] = None,
               configured_steps: Optional[int] = None) -> None:
        """Continue a paused process, or start ``--resume`` (to ``steps`` when it differs from the run's own
        ``configured_steps``).  ResumeRefused when the trainer would refuse; OSError/ValueError from starting."""
        if status.state == "paused" and self.posix:
            self.manager.cont(run)
            return
        new_total = steps if steps is not None and steps != configured_steps else None
        if new_total is not None and new_total <= status.step:
            raise ResumeRefused(f"{run.name} is already at step {status.step}: set “to step” above it to "
                                f"train further.")
        self.soft_paused.discard(run)
        self.manager.resume(run, new_total)

    # -- what went wrong -------------------------------------------------------------------------
    def error_text(self, run: Path, status: Optional[RunStatus], log_tail: Sequence[str],
                   checkpoints: Sequence[tuple[int, Path]]) -> str:
        """What to tell the user about a failed, killed or refused run; "" when nothing went wrong."""
        proc = self.manager.process(run)
        crashed = proc is not None and not proc.running and proc.returncode not in (0, None)
        refused = crashed and proc.returncode == USAGE_ERROR
        if status is None or not (status.state in ("failed", UNEXPECTED) or refused
                                  or (crashed and status.state != "stopped")):
            return ""
        if refused and status.state in ("stopped", "finished"):  # a resume refused: the run is as it was
            errors = [line for line in log_tail if ": error: " in line]
            reason = errors[-1].split(": error: ", 1)[1] if errors else proc.exit_text()
            return f"Could not resume: {reason}\nThe run is unchanged."
        title = "Stopped unexpectedly" if status.state == UNEXPECTED else "Training failed"
        lines = [f"{title}: {status.reason or 'no reason recorded'}"]
        if crashed:
            lines.append(f"The training process ended: {proc.exit_text()}.")
        if checkpoints:
            step, path = checkpoints[-1]
            lines.append(f"The last good checkpoint is kept: {path.name} (step {step}); Resume continues from it.")
        elif status.state != "starting":
            lines.append("No checkpoint was saved.")
        if log_tail:
            lines += ["", f"Last lines of {PROCESS_LOG}:", *log_tail]
        return "\n".join(lines)
