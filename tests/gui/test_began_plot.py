"""BEGAN's k_t and M_global reach the Train window's plot live: they are terms of every step's stats."""
import sys
from pathlib import Path

import numpy as np

from ganstudio.gui.train_plots import LossPlot
from ganstudio.training.loop import train

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from _train_helpers import TinyData, tiny_config  # noqa: E402


def test_began_k_t_and_m_global_are_plotted_as_the_run_reports_them(qtbot, tmp_path):
    plot = LossPlot()
    qtbot.addWidget(plot)
    cfg = tiny_config("began", steps=4, lambda_k=0.5)
    seen = []
    for stats in train(cfg, tmp_path / "run", dataset=TinyData(n=16, res=cfg.resolution)):
        plot.add_records([stats])  # as the Train window feeds it, one poll per yielded record
        seen.append(stats)
        assert {"k_t", "M_global"} <= set(plot.curves)
    for name in ("k_t", "M_global"):
        x, y = plot.curves[name].getData()
        assert list(x) == [s["step"] for s in seen]
        assert np.allclose(y, [s["losses"][name] for s in seen])
    assert "k_t" in plot.legend.text() and "M_global" in plot.legend.text()
