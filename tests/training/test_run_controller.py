"""The Train window's run state machine, without Qt: enabled actions and what pause / resume / stop do."""
from pathlib import Path
from types import SimpleNamespace

import pytest

from ganstudio.training.monitor import UNEXPECTED, RunStatus
from ganstudio.training.run_controller import Actions, ResumeRefused, RunController


class FakeManager:
    """Records what the controller asks of the processes."""

    def __init__(self):
        self.calls, self.procs = [], {}

    def process(self, run):
        return self.procs.get(run)

    def pause(self, run):
        self.calls.append(("pause", run))

    def cont(self, run):
        self.calls.append(("cont", run))

    def stop(self, run):
        self.calls.append(("stop", run))

    def resume(self, run, steps=None):
        self.calls.append(("resume", run, steps))


RUN = Path("/runs/dcgan-1")


def status(state, step=6, steps=10, reason=""):
    return RunStatus(state=state, step=step, steps=steps, reason=reason)


@pytest.mark.parametrize("state, ckpts, expect", [
    ("running", 1, dict(pause=True, stop=True, resume=False, open=True, evaluate=True)),
    ("starting", 0, dict(pause=False, stop=True, resume=False, open=False, evaluate=False)),
    ("paused", 1, dict(pause=False, stop=True, resume=True, resume_steps=False)),
    ("stopped", 1, dict(pause=False, stop=False, resume=True, resume_steps=True)),
    ("stopped", 0, dict(resume=False)),  # nothing to resume from
    ("finished", 2, dict(resume=True, stop=False)),
    ("failed", 1, dict(resume=True)),
    (UNEXPECTED, 1, dict(resume=True, stop=False)),
])
def test_enabled_actions_follow_the_state(state, ckpts, expect):
    c = RunController(FakeManager())
    a = c.actions(RUN, status(state), checkpoints=ckpts, has_config=True)
    for name, on in expect.items():
        assert getattr(a, name) is on, (state, name)


def test_nothing_is_enabled_without_a_run_and_copy_needs_a_config():
    c = RunController(FakeManager())
    assert c.actions(None, None) == Actions()
    assert not c.actions(RUN, status("finished"), checkpoints=1).copy_settings
    assert c.actions(RUN, status("finished"), checkpoints=1, has_config=True).copy_settings
    assert not c.actions(RUN, status("finished"), checkpoints=1, evaluating=True).evaluate


def test_resume_waits_until_a_stopping_process_has_exited():
    m = FakeManager()
    c = RunController(m)
    m.procs[RUN] = SimpleNamespace(running=True, returncode=None)  # wrote "stopped", still alive
    assert not c.actions(RUN, status("stopped"), checkpoints=1).resume
    m.procs[RUN] = SimpleNamespace(running=False, returncode=0)
    assert c.actions(RUN, status("stopped"), checkpoints=1).resume


def test_posix_pause_suspends_and_resume_continues_the_process():
    m = FakeManager()
    c = RunController(m, posix=True)
    c.pause(RUN)
    assert m.calls == [("pause", RUN)]
    c.resume(RUN, status("paused"), steps=10, configured_steps=10)
    assert m.calls[-1] == ("cont", RUN)


def test_without_sigstop_pause_stops_with_a_checkpoint_and_shows_paused():
    m = FakeManager()
    c = RunController(m, posix=False)
    c.pause(RUN)
    assert m.calls == [("stop", RUN)]
    assert c.shown_state(RUN, status("stopped")) == "paused"
    a = c.actions(RUN, status("stopped"), checkpoints=1)
    assert a.stop and a.resume  # Stop ends the soft pause for good
    c.resume(RUN, status("stopped"), steps=10, configured_steps=10)
    assert m.calls[-1] == ("resume", RUN, None) and c.shown_state(RUN, status("stopped")) == "stopped"
    c.pause(RUN)
    c.stop(RUN)
    assert c.shown_state(RUN, status("stopped")) == "stopped"


def test_resume_to_a_new_total_and_refusal_of_a_passed_step():
    m = FakeManager()
    c = RunController(m)
    with pytest.raises(ResumeRefused, match="already at step 6"):
        c.resume(RUN, status("stopped", step=6), steps=5, configured_steps=10)
    assert m.calls == []  # refused before starting anything
    c.resume(RUN, status("finished", step=10), steps=20, configured_steps=10)
    c.resume(RUN, status("stopped", step=6), steps=10, configured_steps=10)  # the run's own total: no --steps
    assert m.calls == [("resume", RUN, 20), ("resume", RUN, None)]


def test_error_text_names_the_reason_the_exit_and_the_checkpoint_kept():
    m = FakeManager()
    c = RunController(m)
    ckpts = [(6, Path("/runs/dcgan-1/checkpoints/ckpt_000006.safetensors"))]
    assert c.error_text(RUN, status("running"), [], ckpts) == ""
    m.procs[RUN] = SimpleNamespace(running=False, returncode=-9, exit_text=lambda: "killed by SIGKILL")
    text = c.error_text(RUN, status(UNEXPECTED), ["last line"], ckpts)
    assert text.startswith("Stopped unexpectedly") and "killed by SIGKILL" in text
    assert "ckpt_000006.safetensors (step 6)" in text and text.endswith("last line")
    assert "No checkpoint was saved." in c.error_text(RUN, status("failed", reason="NaN"), [], [])
    m.procs[RUN] = SimpleNamespace(running=False, returncode=2, exit_text=lambda: "exit code 2")
    text = c.error_text(RUN, status("stopped"), ["ganstudio train: error: the run is already at step 6"], ckpts)
    assert text == "Could not resume: the run is already at step 6\nThe run is unchanged."

