"""The Train window: real tiny training processes started, watched, paused, stopped, killed and resumed from it.

Every wait is for a condition (a state, a file, a number of polls), never a fixed time: these tests
assert what the window does, not how fast (timings belong in benchmarks/).
"""
import json
import os
import signal
import sys
from pathlib import Path

import pytest

from ganstudio.gui.train_form import ADVANCED, QUICK_LOOK, ConfigForm, field_help
from ganstudio.gui.train_tab import SETTINGS_KEY, TrainTab, install_train_tab
from ganstudio.training import monitor as M
from ganstudio.training.presets import TrainConfig, apply_overrides, get_preset, list_presets
from ganstudio.training.process import ProcessManager
from ganstudio.training.run_dir import RunDir

posix_only = pytest.mark.skipif(os.name != "posix", reason="pause/kill use POSIX signals")
slow = pytest.mark.slow  # a real training or evaluation process
STOP_TIMEOUT = 300.0  # s before Stop kills a trainer that has not exited (the app's default is 30)
HANG = 300_000  # ms: every wait is for a condition; this only bounds a hang (a busy machine waits longer)
CHILD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # the test machine's cores are shared


def tiny(form: ConfigForm, steps=2000, data="digits"):
    """A run that takes well under a second per step on one CPU thread."""
    form.set_preset("dcgan")
    for name, v in dict(data=data, resolution=16, batch=8, steps=steps, sample_every=6, ckpt_every=6, log_every=2,
                        sample_count=16, keep=3, device="cpu", model_config={"ngf": 8, "ndf": 8, "z_dim": 8}).items():
        form.set_value(name, v)


def make_tab(qtbot, root, **kw):
    # Stop's escalation to SIGKILL must not race a checkpoint written on a busy machine: STOP_TIMEOUT.
    tab = TrainTab(runs_root=root, manager=ProcessManager(env=CHILD_ENV, stop_timeout=STOP_TIMEOUT), **kw)
    qtbot.addWidget(tab)
    tab.resize(1500, 950)
    tab.show()
    return tab


def cleanup(tab):
    mgr = tab.manager
    for run in mgr.running_runs():
        mgr.kill(run)
    for p in mgr.procs.values():
        if p.popen is not None:
            p.popen.wait(20)
    tab.shutdown()


def log_steps(run: Path) -> list[int]:
    return [r["step"] for r in RunDir(run).read_log()]


# -- the form ---------------------------------------------------------------------------------------

def test_form_is_generated_from_the_config_with_help_and_preset_defaults(qtbot):
    form = ConfigForm()
    qtbot.addWidget(form)
    helps, _ = field_help()
    names = {f for f in TrainConfig.__dataclass_fields__ if f != "preset"}
    assert set(form.widgets) == names
    for name, w in form.widgets.items():
        assert w.toolTip().startswith(f"{helps[name]}\n(setting: {name})") and len(helps[name]) > 8, name
    assert "generator learning rate" in form.widgets["lr_g"].toolTip()
    assert "EMA" in form.widgets["ema"].toolTip()
    for preset in list_presets():
        form.set_preset(preset)
        cfg = get_preset(preset)
        assert form.settings() == [], preset  # untouched form = the preset exactly
        assert form.value("lr_g") == cfg.lr_g and form.value("betas_d") == cfg.betas_d
        assert form.value("loss") == cfg.loss and form.value("k_disc") == cfg.k_disc
    form.set_preset("biggan")
    assert form.value("ema") == 0.999 and form.value("ortho") == 1e-4
    form.set_preset("dcgan")
    tiny(form)
    s = form.settings()
    assert "batch=8" in s and "resolution=16" in s and "model.ngf=8" in s and not any(x.startswith("data=") for x in s)
    cfg = form.config()
    assert (cfg.batch, cfg.resolution, cfg.model_config["ngf"], cfg.data) == (8, 16, 8, "digits")
    form.widgets["lr_g"].setText("fast")
    with pytest.raises(ValueError, match="lr_g"):
        form.config()
    form.set_value("lr_g", 2e-4)
    form.widgets["betas_g"].setText("0.5, 1.5")
    with pytest.raises(ValueError, match="betas_g"):
        form.config()


def test_bad_form_values_are_reported_without_starting(qtbot, tmp_path):
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        tiny(tab.form)
        tab.form.set_value("batch", 0)
        assert tab.start_new_run() is None
        assert tab.new_run.error.isVisible() and "batch must be >= 1" in tab.new_run.error.text()
        assert not tab.manager.procs and not (tmp_path / "runs").exists()
    finally:
        cleanup(tab)


# -- past runs ------------------------------------------------------------------------------------------

def fake_run(root: Path, name: str, state: str, pid: int, steps=(2, 4, 6), reason="") -> Path:
    run = RunDir(root / name)
    run.write_config(get_preset("dcgan").to_dict())
    with open(run.log_path, "w") as f:
        for s in steps:
            f.write(json.dumps({"step": s, "steps": 10, "kimg": s * 0.008, "img_per_s": 100.0, "eta_s": 5.0,
                                "losses": {"loss_D": 1.0 + s, "loss_G": 2.0 - s * 0.1}}) + "\n")
        f.write('{"step": 8, "lo')  # killed mid-line
    run.write_status(state, step=steps[-1], steps=10, kimg=0.05, reason=reason)
    doc = json.loads(run.status_path.read_text())
    doc["pid"] = pid
    run.status_path.write_text(json.dumps(doc))
    return run.path


def test_reopening_shows_past_runs_with_their_curves(qtbot, tmp_path):
    import subprocess
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    root = tmp_path / "runs"
    done = fake_run(root, "done", "finished", dead.pid)
    killed = fake_run(root, "killed", "running", dead.pid, steps=(2, 4))
    nan = fake_run(root, "nan", "failed", dead.pid, reason="loss became NaN at step 5")
    failed = root / "nodata"
    failed.mkdir()
    (failed / M.PROCESS_LOG).write_text("ganstudio train: error: no such data set: /nope\n")
    from ganstudio.gui.settings import settings
    settings().setValue(SETTINGS_KEY, str(root))
    tab = TrainTab()  # runs root from the settings
    qtbot.addWidget(tab)
    tab.show()
    try:
        assert tab.runs_root == root
        texts = tab.runs.texts()
        assert set(texts) == {"done", "killed", "nan", "nodata"}
        assert "finished" in texts["done"] and M.UNEXPECTED in texts["killed"] and "failed" in texts["nodata"]
        tab.select_run(done)
        assert tab.view.plot.points("loss_D") == 3 and tab.view.plot.points("loss_G") == 3
        assert tab.view.progress.value() == 6 and tab.view.progress.maximum() == 10
        assert not tab.view.error_box.isVisible() and tab.view.resume_btn.isEnabled() is False  # no checkpoint
        tab.select_run(killed)
        assert tab.view.plot.points("loss_D") == 2
        assert tab.view.error_box.isVisible() and "Stopped unexpectedly" in tab.view.error_box.toPlainText()
        tab.select_run(nan)
        assert "Training failed: loss became NaN at step 5" in tab.view.error_box.toPlainText()
        tab.select_run(failed)
        assert tab.status.state == "failed"
        assert "no such data set: /nope" in tab.view.error_box.toPlainText()
    finally:
        tab.shutdown()


# -- real runs ------------------------------------------------------------------------------------------

@slow
@posix_only
def test_train_pause_resume_stop_and_open_in_explorer(qtbot, tmp_path, temp_settings):
    import torch

    from ganstudio.checkpoints import load_checkpoint
    from ganstudio.engine import Renderer
    from ganstudio.gui.main_window import MainWindow
    from tests.gui.conftest import wait_rendered

    torch.set_num_threads(1)
    root = tmp_path / "runs"
    from ganstudio.gui.settings import settings
    settings().setValue(SETTINGS_KEY, str(root))
    win = MainWindow(renderer=Renderer("cpu"))
    qtbot.addWidget(win)
    launcher = win.train_launcher
    tab = launcher.show()
    assert launcher.show() is tab  # built once
    tab.manager.env.update(CHILD_ENV)
    tab.manager.stop_timeout = STOP_TIMEOUT
    tab.resize(1500, 950)
    assert tab.runs_root == root
    try:
        tiny(tab.form)
        run = tab.start_new_run()
        assert run is not None and run.parent == root and run.name.startswith("dcgan-")
        proc = tab.manager.process(run)
        assert proc.argv[:4] == [sys.executable, "-m", "ganstudio", "train"] and f"--out={run}" in proc.argv
        # Curves gain points, the sample grid appears and changes.
        qtbot.waitUntil(lambda: tab.view.plot.points("loss_G") >= 2, timeout=HANG)
        assert {"loss_D", "loss_G"} <= set(tab.view.plot.curves)
        qtbot.waitUntil(lambda: tab.view.sample_image is not None, timeout=HANG)
        first_path, first = tab.view.sample_path, tab.view.sample_image.copy()
        qtbot.waitUntil(lambda: tab.view.sample_path != first_path, timeout=HANG)
        assert tab.view.sample_image != first  # new pixels on the same latents
        assert tab.status.state == "running" and tab.view.progress.value() > 0
        assert "img/s" in tab.view.speed_label.text() and tab.view.speed_label.text() != "— img/s"
        assert (run / M.PROCESS_LOG).exists() and not (root / ".logs" / f"{run.name}.log").exists()

        # Pause: the process is stopped, no new log lines while paused.
        tab.pause_run()
        qtbot.waitUntil(lambda: tab.status.state == "paused", timeout=HANG)
        assert M.process_state(proc.pid) == "paused"  # stopped by the kernel: a write under way has ended
        before, points = log_steps(run), tab.view.plot.points("loss_G")
        ticks = tab._ticks
        qtbot.waitUntil(lambda: tab._ticks >= ticks + 4, timeout=HANG)  # the window polled the run 4 more times
        assert log_steps(run) == before and tab.view.plot.points("loss_G") == points
        assert tab.view.resume_btn.isEnabled() and not tab.view.pause_btn.isEnabled()
        tab.resume_run()
        qtbot.waitUntil(lambda: tab.status.state == "running" and len(log_steps(run)) > len(before), timeout=HANG)
        qtbot.waitUntil(lambda: tab.view.plot.points("loss_G") > points, timeout=HANG)

        # Stop: a checkpoint at the stop step, state "stopped".
        tab.stop_run()
        qtbot.waitUntil(lambda: tab.status.state == "stopped", timeout=HANG)
        qtbot.waitUntil(lambda: not proc.running, timeout=HANG)
        assert proc.returncode == 0 and not tab.view.error_box.isVisible()
        status = json.loads((run / "status.json").read_text())
        assert status["reason"] == "stop requested"
        newest = tab.view.ckpt_combo.currentData()
        assert newest == status["checkpoint"] and Path(newest).name == f"ckpt_{status['step']:06d}.safetensors"
        assert tab.view.resume_btn.isEnabled() and not tab.view.stop_btn.isEnabled()

        # Open in the explorer: the signal carries a loadable checkpoint and the main window renders it.
        with qtbot.waitSignal(tab.open_checkpoint, timeout=HANG) as sig:
            tab.view.open_btn.click()
        ck = load_checkpoint(sig.args[0])
        assert ck.G.img_resolution == 16 and ck.G.img_channels == 1
        qtbot.waitUntil(lambda: win.app.info is not None, timeout=HANG)
        wait_rendered(qtbot, win, timeout=HANG)
        assert win.last_result is not None and win.last_result.image.shape[:2] == (16, 16)
        assert Path(win.app.state.model).resolve() == Path(sig.args[0]).resolve()
        # The explorer's model list names the run and the step, not just the file.
        label = win.picker.itemText(win.picker.findData(sig.args[0]))
        assert label.startswith(run.name) and f"step {status['step']}" in label, label
    finally:
        cleanup(tab)
        win.shutdown()


@slow
@posix_only
def test_killed_run_shows_stopped_unexpectedly_and_resumes(qtbot, tmp_path):
    from ganstudio.checkpoints import load_checkpoint

    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        tiny(tab.form)
        run = tab.start_new_run()
        qtbot.waitUntil(lambda: tab.view.ckpt_combo.count() >= 1 and tab.status.state == "running", timeout=HANG)
        pid = json.loads((run / "status.json").read_text())["pid"]
        assert pid == tab.manager.process(run).pid
        os.kill(pid, signal.SIGKILL)
        # The state comes from the files; the exit signal once the process is reaped (a poll later, at most).
        qtbot.waitUntil(lambda: tab.status.state == M.UNEXPECTED and "SIGKILL" in tab.view.error_box.toPlainText(),
                        timeout=HANG)
        text = tab.view.error_box.toPlainText()
        assert tab.view.error_box.isVisible() and "Stopped unexpectedly" in text and "SIGKILL" in text
        ckpt_step, ckpt = RunDir(run).checkpoints()[-1]
        assert ckpt.name in text
        assert load_checkpoint(ckpt).G.img_resolution == 16  # the last checkpoint is intact
        assert tab.view.resume_btn.isEnabled()
        tab.resume_run()
        proc = tab.manager.process(run)
        assert proc.pid != pid and "--resume" in proc.argv
        qtbot.waitUntil(lambda: tab.status.state == "running" and not tab.view.error_box.isVisible(), timeout=HANG)
        qtbot.waitUntil(lambda: tab.last_record is not None and tab.last_record["step"] > ckpt_step, timeout=HANG)
        # The log was cut back to the checkpoint on resume, then continued: steps increase monotonically.
        steps = log_steps(run)
        assert steps == sorted(steps) and len(set(steps)) == len(steps) and steps[-1] > ckpt_step
    finally:
        cleanup(tab)


@slow
def test_evaluate_fcd_runs_eval_in_a_process_and_keeps_the_result(qtbot, tmp_path, checkpoint):
    import shutil
    root = tmp_path / "runs"
    run = Path(fake_run(root, "done", "finished", 0))
    ckpts = RunDir(run).checkpoints_dir
    ckpts.mkdir()
    shutil.copy(checkpoint("dcgan"), ckpts / "ckpt_000006.safetensors")
    tab = make_tab(qtbot, root)
    try:
        tab.select_run(run)
        assert tab.view.ckpt_combo.count() == 1 and tab.view.eval_btn.isEnabled()
        tab.evaluate_selected_checkpoint(n=100)
        assert not tab.view.eval_btn.isEnabled() and "Evaluating" in tab.view.metrics_label.text()
        # In its own process, not on the GUI thread (loading the classifier and sampling take seconds).
        job = tab.evaluation
        assert job.popen.args[1:4] == ["-m", "ganstudio", "eval"] and job.popen.pid != os.getpid()
        qtbot.waitUntil(lambda: "FCD" in tab.view.metrics_label.text(), timeout=HANG)
        assert job.popen.returncode == 0 and tab.evaluation is None
        assert "at step 6" in tab.view.metrics_label.text() and tab.view.eval_btn.isEnabled()
        saved = [json.loads(line) for line in (run / M.METRICS_LOG).read_text().splitlines()]
        assert len(saved) == 1 and saved[0]["step"] == 6 and saved[0]["fcd"] > 0 and saved[0]["n"] == 100
        # Reopened later, the result is still shown.
        tab.select_run(run / "elsewhere")
        tab.select_run(run)
        assert f"FCD {saved[0]['fcd']:.3f}" in tab.view.metrics_label.text()
    finally:
        cleanup(tab)


@slow
def test_bad_dataset_path_shows_the_reason(qtbot, tmp_path):
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        tiny(tab.form, data=str(tmp_path / "no-such-folder"))
        run = tab.start_new_run()
        qtbot.waitUntil(lambda: tab.status is not None and tab.status.state == "failed", timeout=HANG)
        assert tab.manager.process(run).returncode == 2
        text = tab.view.error_box.toPlainText()
        assert tab.view.error_box.isVisible() and "no-such-folder" in text and "error" in text
        assert (run / M.PROCESS_LOG).exists() and not (run / "config.json").exists()
        assert "failed" in tab.runs.texts()[run.name]
    finally:
        cleanup(tab)


@slow
def test_a_data_path_starting_with_a_dash_reaches_the_trainer_as_data(qtbot, tmp_path):
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        tiny(tab.form, data="-not-an-option")
        run = tab.start_new_run()
        qtbot.waitUntil(lambda: tab.status is not None and tab.status.state == "failed", timeout=HANG)
        text = tab.view.error_box.toPlainText()
        assert "-not-an-option" in text and "expected one argument" not in text
        assert run is not None
    finally:
        cleanup(tab)


def test_resume_waits_for_a_stopped_process_to_exit(qtbot, tmp_path):
    from types import SimpleNamespace
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        run = fake_run(tmp_path / "runs", "r1", "stopped", os.getpid())
        (run / "checkpoints").mkdir(exist_ok=True)
        (run / "checkpoints" / "ckpt_000006.safetensors").write_bytes(b"x")
        tab.refresh_runs()
        tab.select_run(run)
        qtbot.waitUntil(lambda: tab.status is not None and tab.status.state == "stopped", timeout=HANG)
        exiting = SimpleNamespace(run=run, running=True, returncode=None)  # wrote "stopped", still alive
        tab.manager.procs[run] = exiting
        tab._update_buttons()
        assert not tab.view.resume_btn.isEnabled()
        exiting.running, exiting.returncode = False, 0
        tab._update_buttons()
        assert tab.view.resume_btn.isEnabled()
    finally:
        tab.manager.procs.clear()
        cleanup(tab)


# -- the process manager, with stand-in children (fast) --------------------------------------------------

STUBBORN = """
import json, os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a trainer stuck where it cannot checkpoint
run = sys.argv[1]
os.makedirs(run, exist_ok=True)
print("before the run folder", flush=True)
open(os.path.join(run, "config.json"), "w").write(json.dumps({"format": "ganstudio-run", "config": {}}))
deadline = time.monotonic() + 60
while not os.path.exists(os.path.join(run, "process.log")) and time.monotonic() < deadline:
    time.sleep(0.05)  # until the window has linked the log into the run folder
print("after the run folder", flush=True)
time.sleep(600)  # until killed
"""


@posix_only
def test_stop_escalates_to_kill_and_the_log_follows_the_run(qtbot, tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    tab = make_tab(qtbot, root)
    tab.manager.stop_timeout = 0.5
    try:
        run = root / "stubborn"
        logs = root / ".logs"
        logs.mkdir()
        proc = tab.manager.spawn(run, [sys.executable, "-c", STUBBORN, str(run)], logs / "stubborn.log",
                                  logs / "stubborn.log")
        qtbot.waitUntil(lambda: (run / M.PROCESS_LOG).exists(), timeout=HANG)  # hard-linked once config.json exists
        qtbot.waitUntil(lambda: "after the run folder" in (run / M.PROCESS_LOG).read_text(), timeout=HANG)
        assert "before the run folder" in (run / M.PROCESS_LOG).read_text() and not (logs / "stubborn.log").exists()
        # One run at a time unless the user agrees to another.
        asked = []
        tab.confirm = lambda text: asked.append(text) or False
        tiny(tab.form)
        assert tab.start_new_run() is None and "stubborn" in asked[0] and len(tab.manager.procs) == 1
        tab.manager.stop(run)
        qtbot.waitUntil(lambda: not proc.running, timeout=HANG)
        assert proc.returncode == -signal.SIGKILL and proc.exit_text() == "killed by SIGKILL"
    finally:
        cleanup(tab)


def test_form_sends_an_existing_relative_data_folder_as_an_absolute_path(qtbot, tmp_path, monkeypatch):
    # The trainer runs in the runs folder: a path relative to where the app started named another folder.
    (tmp_path / "imgs").mkdir()
    monkeypatch.chdir(tmp_path)
    form = ConfigForm()
    qtbot.addWidget(form)
    form.set_value("data", "imgs")
    assert form.data() == str((tmp_path / "imgs").resolve())
    form.set_value("data", "fashion-mnist")  # a data set name, not a folder here: as typed
    assert form.data() == "fashion-mnist"


def test_model_config_lists_round_trip_and_a_cleared_preset_setting_means_the_default(qtbot):
    from ganstudio.gui.train_form import format_model_config, parse_model_config
    # "Copy settings to form" of an MLP GAN run wrote "[16, 32]", which the box then split at the space.
    cfg = {"g_hidden": [16, 32], "z_dim": 8}
    assert parse_model_config(format_model_config(cfg)) == cfg
    assert parse_model_config("g_hidden=[16, 32] z_dim=8") == cfg
    form = ConfigForm()
    qtbot.addWidget(form)
    form.set_preset("wgan-gp")  # sets d_norm=layer (the paper's critic has no BatchNorm)
    form.widgets["model_config"].setText("")
    form.set_value("data", "shapes")
    assert form.config().model_config["d_norm"] == "batch"  # the dcgan default, not the preset's value


def test_a_refused_resume_says_why(qtbot, tmp_path):
    # The trainer refused (exit 2) and left the run as it was: the tab showed nothing at all.
    from types import SimpleNamespace

    from ganstudio.training.monitor import PROCESS_LOG
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        run = fake_run(tmp_path / "runs", "r1", "stopped", 999999)
        (run / PROCESS_LOG).write_text("=== header\nganstudio train: error: the run is already at step 6; "
                                       "--steps is the new total and must be larger\n")
        tab.refresh_runs()
        tab.select_run(run)
        qtbot.waitUntil(lambda: tab.status is not None and tab.status.state == "stopped", timeout=HANG)
        tab.manager.procs[run] = SimpleNamespace(run=run, running=False, returncode=2, popen=None,
                                                 exit_text=lambda: "exit code 2")
        tab._show_error()
        assert tab.view.error_box.isVisible()
        assert tab.view.error_box.toPlainText().startswith("Could not resume: the run is already at step 6")
    finally:
        cleanup(tab)


def test_resume_to_a_step_the_run_has_passed_is_refused_in_the_tab(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        run = fake_run(tmp_path / "runs", "r1", "stopped", 999999)  # at step 6 of 10
        tab.refresh_runs()
        tab.select_run(run)
        qtbot.waitUntil(lambda: tab.status is not None and tab.status.state == "stopped", timeout=HANG)
        said, started = [], []
        monkeypatch.setattr(QMessageBox, "warning", lambda *a: said.append(a[2]))
        monkeypatch.setattr(tab.manager, "resume", lambda *a: started.append(a))
        tab.view.resume_steps.setValue(5)
        tab.resume_run()
        assert not started and "already at step 6" in said[0]
        tab.view.resume_steps.setValue(20)
        tab.resume_run()
        assert started == [(run, 20)]
    finally:
        cleanup(tab)


def test_closing_stops_a_paused_run_with_a_checkpoint_and_leaves_running_ones(tmp_path):
    # A paused (SIGSTOPped) trainer outlived the window frozen, holding its memory, until killed.
    from types import SimpleNamespace
    mgr = ProcessManager()
    paused, running = tmp_path / "paused", tmp_path / "running"
    mgr.procs[paused] = SimpleNamespace(run=paused, running=True, paused=True)
    mgr.procs[running] = SimpleNamespace(run=running, running=True, paused=False)
    stopped = []
    mgr.stop = stopped.append
    mgr.shutdown()
    assert stopped == [paused]


# -- plain labels, Advanced, the quick first look (#15 item 10) ------------------------------------------

def test_settings_have_plain_labels_and_the_rest_is_under_advanced(qtbot):
    form = ConfigForm()
    qtbot.addWidget(form)
    form.show()
    for name in form.widgets:  # no raw field name as a label; the name is in the tooltip, as --set takes it
        text = form.labels[name].text()
        assert "_" not in text and text != name and f"(setting: {name})" in form.labels[name].toolTip(), name
    assert form.labels["lr_g"].text() == "Generator learning rate"
    assert form.labels["k_disc"].text() == "Discriminator steps per generator step"
    basic = {"data", "model", "steps", "batch", "lr_g", "lr_d", "loss", "sample_every"}
    advanced = {"betas_d", "r1_every", "pl", "k_disc", "ema", "model_config", "seed"}
    assert all(not form.groups[n].startswith(ADVANCED) for n in basic)
    assert all(form.groups[n].startswith(ADVANCED) for n in advanced)
    # Advanced is closed until asked for; its settings still reach the trainer.
    assert form.widgets["lr_g"].isVisible() and not form.widgets["r1_every"].isVisible()
    form.advanced_btn.click()
    assert form.widgets["r1_every"].isVisible()
    form.set_value("r1_every", 4)
    assert "r1_every=4" in form.settings()


def test_quick_first_look_changes_only_its_settings_and_is_ticked_for_a_first_run(qtbot, tmp_path):
    form = ConfigForm()
    qtbot.addWidget(form)
    assert not form.quick.isChecked() and form.preset_name() == "dcgan"
    form.set_value("data", "shapes")
    form.set_value("seed", 7)
    form.set_quick(True)
    assert sorted(form.settings()) == sorted([f"{k}={v}" for k, v in QUICK_LOOK.items()] + ["seed=7"])
    assert form.value("data") == "shapes"  # the user's other edits stay
    form.set_preset("lsgan")  # a preset chosen while it is ticked keeps it
    assert form.value("batch") == QUICK_LOOK["batch"] and form.value("sample_every") == QUICK_LOOK["sample_every"]
    form.set_quick(False)
    assert form.settings() == [] and form.value("batch") == get_preset("lsgan").batch
    # The Train window ticks it while there is no run yet, and not once there is one.
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        assert tab.form.quick.isChecked()
    finally:
        cleanup(tab)
    fake_run(tmp_path / "runs", "old", "finished", 0)
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        assert not tab.form.quick.isChecked() and tab.current == tmp_path / "runs" / "old"
    finally:
        cleanup(tab)


@slow
def test_a_quick_first_look_shows_a_sample_grid(qtbot, tmp_path):
    # A first run with the preset's batch 128 showed its first grid after minutes on a 2-core CPU.
    tab = make_tab(qtbot, tmp_path / "runs")
    try:
        assert tab.form.quick.isChecked()
        tab.form.set_value("data", "digits")
        tab.form.set_value("device", "cpu")
        run = tab.start_new_run()
        argv = tab.manager.process(run).argv
        assert "batch=16" in argv and f"sample_every={QUICK_LOOK['sample_every']}" in argv
        qtbot.waitUntil(lambda: tab.view.sample_image is not None, timeout=HANG)
        assert tab.view.sample_path.parent == run / "samples"
        assert tab.view.sample_caption.text().startswith(f"step {QUICK_LOOK['sample_every']} ")
    finally:
        cleanup(tab)


# -- the explorer's Train menu (#16) ---------------------------------------------------------------------

def test_the_train_menu_goes_before_the_given_menu_and_adds_nothing_to_the_window(qtbot, tmp_path, temp_settings):
    from PySide6.QtWidgets import QMainWindow

    from ganstudio.gui.settings import settings
    settings().setValue(SETTINGS_KEY, str(tmp_path / "runs"))
    win = QMainWindow()
    qtbot.addWidget(win)
    bar = win.menuBar()
    bar.addMenu("&File")
    aide = bar.addMenu("&Aide")  # not found by its text: the caller says where
    opened = []
    win.open_model = opened.append
    before = dict(vars(win))
    launcher = install_train_tab(win, before=aide.menuAction())
    assert dict(vars(win)) == before
    assert [a.text() for a in bar.actions()] == ["&File", "&Train", "&Aide"]
    assert launcher.action in win.actions() and launcher.tab is None  # built on first use
    launcher.action.trigger()
    tab = launcher.tab
    assert tab is not None and tab.isVisible() and tab.isWindow()
    tab.open_checkpoint.emit("/some/ckpt_000004.safetensors")
    assert opened == ["/some/ckpt_000004.safetensors"]
    win.close()  # closing the explorer closes the Train window and stops its polling
    assert not tab.isVisible() and not tab.timer.isActive()
    bare = QMainWindow()
    qtbot.addWidget(bare)
    install_train_tab(bare)
    assert [a.text() for a in bare.menuBar().actions()] == ["&Train"]


def test_a_run_checkpoint_is_listed_by_run_name_and_step(qtbot, tmp_path):
    # Two runs' checkpoints at the same step were both listed as "ckpt_000045.safetensors · recent".
    from ganstudio.gui.model_picker import ModelPicker, recent_label
    from ganstudio.gui.settings import add_recent_file
    a = tmp_path / "runs" / "dcgan-1" / "checkpoints" / "ckpt_000045.safetensors"
    b = tmp_path / "runs" / "dcgan-2" / "checkpoints" / "ckpt_000045.safetensors"
    assert recent_label(str(a)) == "dcgan-1  ·  step 45" and recent_label(str(b)) == "dcgan-2  ·  step 45"
    assert recent_label(str(tmp_path / "G.safetensors")) == "G.safetensors  ·  recent"
    add_recent_file(str(a))
    add_recent_file(str(b))
    picker = ModelPicker()
    qtbot.addWidget(picker)
    labels = [picker.itemText(i) for i in range(picker.count())]
    assert "dcgan-1  ·  step 45" in labels and "dcgan-2  ·  step 45" in labels
    c = tmp_path / "runs" / "dcgan-3" / "checkpoints" / "ckpt_000007.safetensors"
    picker.select(str(c))  # opened but not (yet) among the recent files
    assert picker.currentText() == "dcgan-3  ·  step 7"


# -- the parts alone (#16: run list, new-run form and run view are separate widgets) ----------------------

def test_the_run_list_alone_keeps_items_in_order_and_reports_the_choice(qtbot, tmp_path):
    from ganstudio.gui.train_run_list import RunEntry, RunList
    runs = RunList()
    qtbot.addWidget(runs)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    runs.set_entries([RunEntry(a, "running", 4, 10), RunEntry(b, "failed", reason="NaN")])
    assert runs.texts() == {"a": "a\n   running · 4/10", "b": "b\n   failed"} and runs.first() == a
    with qtbot.waitSignal(runs.run_selected) as sig:
        runs.select(b)
    assert sig.args == [b]
    runs.set_entries([RunEntry(c, "starting"), RunEntry(a, "stopped", 6, 10)])  # b gone, c new on top
    assert list(runs.texts()) == ["c", "a"] and runs.texts()["a"].endswith("stopped · 6/10")


def test_the_run_view_alone_shows_what_it_is_given_and_asks_for_actions(qtbot, tmp_path):
    from PIL import Image

    from ganstudio.gui.train_run_view import RunView
    from ganstudio.training.run_controller import Actions
    view = RunView()
    qtbot.addWidget(view)
    view.clear(tmp_path / "dcgan-1")
    assert "dcgan-1" in view.title.text() and view.selected_checkpoint() is None
    view.set_actions(Actions(pause=True, stop=True))
    assert view.pause_btn.isEnabled() and view.stop_btn.isEnabled() and not view.resume_btn.isEnabled()
    assert not view.open_btn.isEnabled() and not view.copy_btn.isEnabled()
    with qtbot.waitSignal(view.pause_requested):
        view.pause_btn.click()
    view.show_progress(30, 100, {"kimg": 0.48, "img_per_s": 37.0, "eta_s": 754}, live=True)
    assert (view.progress.value(), view.progress.maximum()) == (30, 100)
    assert view.eta_label.text() == "ETA 12 min 34 s" and view.speed_label.text() == "37 img/s"
    view.show_progress(30, 100, {"kimg": 0.48, "img_per_s": 37.0, "eta_s": 754}, live=False)
    assert view.eta_label.text() == "ETA —" and view.speed_label.text() == "— img/s"
    png = tmp_path / "step_000030.png"
    Image.new("L", (40, 40), 128).save(png)
    view.show_sample(png)
    assert view.sample_path == png and view.sample_caption.text().startswith("step 30 ")
    ckpts = [(10, tmp_path / "ckpt_000010.safetensors"), (20, tmp_path / "ckpt_000020.safetensors")]
    view.fill_checkpoints(ckpts)
    assert view.selected_checkpoint() == str(ckpts[-1][1])  # the newest first
    view.show_error("Training failed: NaN")
    assert view.error_box.isVisibleTo(view) and view.error_box.toPlainText() == "Training failed: NaN"
    view.show_error("")
    assert not view.error_box.isVisibleTo(view)


# -- channels and resolution follow the data (#15 item 9, the Train window's side) ------------------------

def test_the_form_shows_the_datas_colour_and_explains_a_setting_that_differs(qtbot, tmp_path):
    # The dcgan preset on colour data trained grey without a word (the form showed channels 1 and sent nothing).
    form = ConfigForm()
    qtbot.addWidget(form)
    form.show()
    assert form.preset_name() == "dcgan" and form.value("channels") == 1 and not form.data_note.isVisible()
    form.widgets["data"].combo.setCurrentText("shapes-upright")  # typed: looked at once typing pauses
    qtbot.waitUntil(lambda: form.value("channels") == 3, timeout=HANG)
    assert form.data_note.isVisible() and "colour" in form.data_note.text()
    assert "channels=3" in form.settings() and form.config().channels == 3
    form.set_value("channels", 1)  # the user wants grey: kept, sent and explained
    assert form.follow_data() and form.value("channels") == 1 and "channels=1" in form.settings()
    assert "as set" in form.data_note.text() and "grey" in form.data_note.text()
    form.set_preset("dcgan")  # the preset again: its own data, its own geometry, nothing to say
    assert form.value("channels") == 1 and form.settings() == [] and not form.data_note.isVisible()
    # "Copy settings to form" of a run that set grey on colour data keeps it grey.
    run_cfg = apply_overrides(get_preset("dcgan"), {"data": "shapes-upright", "channels": 1})
    form.set_config(run_cfg)
    assert form.follow_data() and form.value("channels") == 1 and "channels=1" in form.settings()


def test_settings_that_mean_nothing_for_the_model_are_greyed_out_with_the_reason(qtbot):
    form = ConfigForm()
    qtbot.addWidget(form)
    assert form.value("model") == "dcgan"
    qtbot.waitUntil(lambda: not form.widgets["pl"].isEnabled(), timeout=HANG)  # worked out off the GUI thread
    for name in ("pl", "style_mixing", "vae_beta", "aux_class"):
        assert not form.widgets[name].isEnabled() and not form.labels[name].isEnabled(), name
        assert "Does not apply to dcgan" in form.widgets[name].toolTip(), name
    assert form.widgets["lr_d"].isEnabled() and form.widgets["r1"].isEnabled()
    form.widgets["model"].setCurrentText("stylegan2")  # the user picks another family
    qtbot.waitUntil(lambda: form.widgets["pl"].isEnabled(), timeout=HANG)
    assert form.widgets["style_mixing"].isEnabled() and "Does not apply" not in form.widgets["pl"].toolTip()
    form.set_preset("vae")  # no discriminator: its settings are off
    qtbot.waitUntil(lambda: not form.widgets["lr_d"].isEnabled(), timeout=HANG)
    assert not form.widgets["loss"].isEnabled() and form.widgets["vae_beta"].isEnabled()


def test_a_slow_look_at_the_data_does_not_hold_the_form_and_the_newest_answer_wins(qtbot, monkeypatch):
    # follow_data builds the model when the data's size differs: seconds for spectral-norm families.
    import threading

    from ganstudio.gui import train_form
    gate, asked = threading.Event(), []
    real = train_form.follow_data

    def slow_follow(cfg, explicit=frozenset()):
        asked.append(cfg.data)
        gate.wait(60)
        return real(cfg, explicit=explicit)
    monkeypatch.setattr(train_form, "follow_data", slow_follow)
    monkeypatch.setattr(train_form, "_GEOMETRY", {})
    form = ConfigForm()
    qtbot.addWidget(form)
    qtbot.waitUntil(lambda: asked == ["fashion-mnist"], timeout=HANG)  # the preset's data: the worker is held
    combo = form.widgets["data"].combo
    combo.setCurrentText("shapes-upright")
    qtbot.waitUntil(lambda: not form._follow_timer.isActive(), timeout=HANG)
    combo.setCurrentText("shapes")  # the user moves on before any answer
    qtbot.waitUntil(lambda: not form._follow_timer.isActive(), timeout=HANG)
    form.set_value("batch", 32)  # the form still works meanwhile
    assert form.value("batch") == 32 and form.value("channels") == 1
    gate.set()
    qtbot.waitUntil(lambda: form.value("channels") == 3 and "shapes is colour" in form.data_note.text(), timeout=HANG)
    assert asked == ["fashion-mnist", "shapes"]  # the question nobody waits for any more was never worked out
