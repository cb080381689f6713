"""A StyleGAN3 model in the window: every panel that applies to StyleGAN2 applies, except noise (it has none)."""
import pytest

from ganstudio.models import list_models


def _enabled(win):
    return {n: d.widget().currentIndex() == 0 for n, d in win.docks.items()}


@pytest.mark.parametrize("name", ["stylegan3-t", "stylegan3-r"])
def test_stylegan3_enables_the_stylegan2_panels_but_noise(qtbot, open_window, checkpoint, name):
    if name not in list_models():
        pytest.skip(f"{name} is not registered")
    sg3 = open_window(checkpoint(name))
    assert sg3.displayed_state == sg3.app.state and sg3.app.info.capabilities.input_transform
    sg2 = open_window(checkpoint("stylegan2"))
    a, b = _enabled(sg3), _enabled(sg2)
    assert b["NoisePanel"] and not a["NoisePanel"]
    assert a["TransformPanel"] and not b["TransformPanel"]  # StyleGAN3's input transform, StyleGAN3 only
    own = ("NoisePanel", "TransformPanel")
    assert {n: v for n, v in a.items() if n not in own} == {n: v for n, v in b.items() if n not in own}
    assert a["TruncationPanel"] and a["MixingPanel"] and a["LatentPanel"]
