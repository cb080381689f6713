"""The package's one duration formatter (the trainer's ETA, the Train window, the model card)."""
import pytest

from ganstudio._duration import format_duration


@pytest.mark.parametrize("seconds, text", [(0, "0 s"), (5.4, "5 s"), (59.6, "1 min 00 s"), (754, "12 min 34 s"),
                                           (3725, "1 h 02 min"), ("90", "1 min 30 s"), (100 * 3600, "100 h 00 min")])
def test_durations_read_as_hours_minutes_seconds(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("bad", [None, "soon", float("nan"), float("inf"), -1])
def test_an_unknown_duration_says_so(bad):
    assert format_duration(bad) == "?" and format_duration(bad, unknown="—") == "—"


def test_every_caller_uses_it():
    pytest.importorskip("PySide6")
    import ganstudio.commands.train as cli_train
    import ganstudio.gui.train_run_view as run_view
    from ganstudio.gui.panels import model_card
    assert cli_train.format_duration is run_view.format_duration is model_card.format_duration is format_duration
