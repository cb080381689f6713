"""The Gallery's exports and `ganstudio export` run the same code: a saved session gives the same bytes."""
from ganstudio.cli import main
from tests.gui.conftest import wait_rendered


def test_gallery_and_command_line_exports_are_the_same_bytes(qtbot, open_window, checkpoint, tmp_path):
    win = open_window(checkpoint("stylegan2"))
    gallery = win.panels["GalleryPanel"]
    for seed in (4, 9, 2):
        win.app.edit(win.app.state.replace(seed=seed), "test")
        wait_rendered(qtbot, win)
        gallery.bookmark_current()
    win.app.edit(win.app.state.replace(seed=6, truncation_psi=0.6), "test")  # the walk's settings
    wait_rendered(qtbot, win)
    session = tmp_path / "session.json"
    win.save_session(str(session))
    made = []
    for name, kw in (("gui.gif", dict(frames_per_leg=3)), ("gui.mp4", dict(frames_per_leg=3))):
        gallery.scale.setValue(2)
        gallery.export_animation(str(tmp_path / name), **kw)
        made.append(tmp_path / name)
    gallery.export_grid(str(tmp_path / "gui.png"), scale=2)
    made.append(tmp_path / "gui.png")
    qtbot.waitUntil(lambda: win.jobs.idle() and all(p.exists() for p in made), timeout=60000)
    for suffix in ("gif", "mp4", "png"):
        cli = tmp_path / f"cli.{suffix}"
        argv = ["export", str(session), "--out", str(cli), "--scale", "2", "--device", "cpu"]
        assert main(argv + (["--frames", "3", "--loop"] if suffix != "png" else [])) == 0
        assert cli.read_bytes() == (tmp_path / f"gui.{suffix}").read_bytes(), suffix
