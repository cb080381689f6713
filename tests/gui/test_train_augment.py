"""The Train window's side of limited-data training: emoji data, a subset, augmentation, ADA's p plotted."""
from ganstudio.gui.train_form import ADVANCED, ConfigForm


def test_the_form_offers_emoji_a_subset_and_augmentation(qtbot):
    form = ConfigForm()
    qtbot.addWidget(form)
    form.show()
    combo = form.widgets["data"].combo
    offered = [combo.itemText(i) for i in range(combo.count())]
    assert "emoji" in offered and "emoji-base" in offered
    aug = form.widgets["augment"]
    assert [aug.itemText(i) for i in range(aug.count())] == ["none", "diffaugment", "ada"]
    for name in ("subset", "augment"):  # where a first limited-data run finds them, not under Advanced
        assert not form.groups[name].startswith(ADVANCED) and form.widgets[name].isVisible(), name
    assert form.groups["ada_kimg"].startswith(ADVANCED)
    form.set_value("subset", 500)
    form.set_value("augment", "ada")
    sent = form.settings()
    assert "subset=500" in sent and "augment=ada" in sent
    cfg = form.config()
    assert (cfg.subset, cfg.augment) == (500, "ada")


def test_ada_p_is_plotted_once_a_run_reports_it(qtbot):
    from ganstudio.gui.train_plots import LossPlot
    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.show()
    plot.add_records([{"step": 10, "losses": {"loss_D": 1.0}}])
    assert not plot.p_widget.isVisible() and plot.p_series.n == 0  # no augmentation: no p plot
    plot.add_records([{"step": 20, "losses": {"loss_D": 0.9}, "augment_p": 0.0},
                      {"step": 30, "losses": {"loss_D": 0.8}, "augment_p": 0.25}])
    assert plot.p_widget.isVisible()
    x, y = plot.p_curve.getOriginalDataset()
    assert list(x) == [20.0, 30.0] and list(y) == [0.0, 0.25]
    assert "augment_p" not in plot.curves  # its own plot, not a loss curve
    plot.clear_all()
    assert not plot.p_widget.isVisible() and plot.p_series.n == 0


def test_choosing_emoji_trains_colour_at_64_px(qtbot):
    # data_geometry did not know the emoji sets: the dcgan preset on emoji trained 32 px grey without a word.
    from ganstudio.training.data import data_geometry
    assert tuple(data_geometry("emoji-base")) == (3, 64)
    form = ConfigForm()
    qtbot.addWidget(form)
    form.show()
    assert form.preset_name() == "dcgan" and form.value("channels") == 1
    form.widgets["data"].combo.setCurrentText("emoji")
    qtbot.waitUntil(lambda: form.value("channels") == 3 and form.value("resolution") == 64, timeout=300_000)
    cfg = form.config()
    assert (cfg.data, cfg.channels, cfg.resolution) == ("emoji", 3, 64)
