"""The layer viewer and the path-length panel, each alone against the core on a tiny model."""
import numpy as np

from ganstudio.gui.panels.layers import LayersPanel, default_layer
from ganstudio.gui.panels.ppl import PPLPanel


def test_layer_viewer_shows_a_grid_and_a_clicked_channel(qtbot, panel_alone):
    p, ctx, errors = panel_alone(LayersPanel, "registry:dcgan:tiny")
    qtbot.waitUntil(lambda: p.act is not None, timeout=30000)
    shapes = p.shapes
    assert p.shown_layer == default_layer(shapes) and p.layer.count() == len(shapes)
    c, h, w = shapes[p.shown_layer]
    assert p.act.shape == (c, h, w) and p.channels == c
    grid, cols, shown = p._grid
    assert shown == min(c, 64) and grid.shape[1] == cols * (w + 1) - 1
    assert p.grid_view.image is not None and p.summary_view.image is not None
    # a click on the grid's third cell shows channel 2
    x = (2 * (w + 1) + w / 2) / grid.shape[1]
    p._grid_clicked(x, (h / 2) / grid.shape[0])
    assert p.channel == 2 and "channel 2" == p.channel_view.caption
    # choosing another layer renders it (through the render result)
    other = next(n for n in shapes if n != p.shown_layer and shapes[n][1] > 1)
    p.layer.setCurrentIndex(p.layer.findData(other))
    qtbot.waitUntil(lambda: p.shown_layer == other, timeout=30000)
    assert p.act.shape == shapes[other] and p.channel == 0
    # the mean summary of the shown layer is what the panel drew from
    p.how.setCurrentIndex(p.how.findData("max"))
    assert "max over" in p.summary_view.caption
    assert errors == []


def test_layer_viewer_follows_the_state(qtbot, panel_alone):
    p, ctx, errors = panel_alone(LayersPanel, "registry:stylegan2:tiny")
    qtbot.waitUntil(lambda: p.act is not None, timeout=30000)
    first = p.act.copy()
    ctx.app.edit(ctx.app.state.replace(seed=ctx.app.state.seed + 5), "seed")
    qtbot.waitUntil(lambda: p.act is not None and not np.array_equal(p.act, first), timeout=30000)
    assert errors == []


def test_ppl_panel_measures_and_cancels(qtbot, panel_alone):
    p, ctx, errors = panel_alone(PPLPanel, "registry:stylegan2:tiny")
    assert [p.space.itemText(i) for i in range(p.space.count())] == ["z", "w"]
    p.space.setCurrentText("w")
    p.sampling.setCurrentText("end")
    p.n.setValue(12)
    p.run_btn.click()
    qtbot.waitUntil(lambda: len(p.results) == 1, timeout=30000)
    r = p.results[0]
    assert (r["space"], r["sampling"], r["n"]) == ("w", "end", 12) and r["mean"] > 0
    assert p.table.rowCount() == 1 and p.table.item(0, 0).text() == "w" and p.bar.value() == 100
    assert "Fashion-MNIST classifier" in p.status.text()
    # cancel: a long run stops at its next batch and leaves the table as it was
    p.n.setValue(200_000)
    p.run_btn.click()
    qtbot.waitUntil(lambda: 0 < p.fraction < 1, timeout=30000)
    p.cancel_btn.click()
    qtbot.waitUntil(lambda: p.run_btn.isEnabled(), timeout=30000)
    assert "Cancelled" in p.status.text() and len(p.results) == 1 and errors == []


def test_ppl_panel_offers_only_z_without_a_mapping_network(qtbot, panel_alone):
    p, ctx, errors = panel_alone(PPLPanel, "registry:dcgan:tiny")
    assert [p.space.itemText(i) for i in range(p.space.count())] == ["z"]
