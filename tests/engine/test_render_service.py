"""The render service: the main image newest-wins, captures inside the result, device / precision switches."""
import threading

import numpy as np
import pytest

from ganstudio.engine import Renderer, RenderState
from ganstudio.engine.render_service import RenderService

SAGAN = "registry:sagan:tiny"


def _wait(results, n=1, timeout=30.0):
    import time
    end = time.monotonic() + timeout
    while len(results) < n and time.monotonic() < end:
        time.sleep(0.01)
    return len(results) >= n


def test_attention_maps_come_back_inside_the_render_result():
    r = Renderer("cpu")
    res = r.render(RenderState(model=SAGAN, seed=1), capture=("attention",))
    assert res.error == "", res.error
    (resolution, maps), = res.captures["attention"].items()
    assert maps.shape[0] == 1 and maps.shape[1] == resolution ** 2 and np.allclose(maps.sum(-1), 1, atol=1e-4)
    G = r.generator(SAGAN)
    assert np.array_equal(maps, G.attention_maps()[resolution].float().numpy())
    assert r.render(RenderState(model=SAGAN, seed=1)).captures == {}  # only when asked
    bad = r.render(RenderState(model=SAGAN), capture=("gradients",))
    assert bad.image is None and "unknown capture" in bad.error  # never raises


def test_a_switch_happens_once_the_model_has_loaded_and_a_failed_one_changes_nothing():
    results = []
    first = Renderer("cpu")
    service = RenderService(first, results.append)
    state = RenderState(model="registry:dcgan:tiny", seed=2)
    service.submit(state)
    assert _wait(results) and results[0].error == ""
    with pytest.raises(Exception):
        service.switch(Renderer("cpu"), "/no/such/model.safetensors")
    assert service.renderer is first
    second = Renderer("cpu", precision="fp32")
    info = service.switch(second, state.model)
    assert service.renderer is second and info.key == state.model
    service.submit(state)
    assert _wait(results, 2) and np.array_equal(results[1].image, results[0].image)
    service.close()


def test_a_render_of_the_replaced_renderer_is_dropped():
    results, entered, gate = [], threading.Event(), threading.Event()

    class Held(Renderer):
        def render(self, state, seeds=None, capture=()):
            entered.set()
            gate.wait(60)
            return super().render(state, seeds)
    service = RenderService(Held("cpu"), results.append)
    state = RenderState(model="registry:dcgan:tiny")
    service.submit(state)
    assert entered.wait(60)  # inside the old renderer
    service.switch(Renderer("cpu"))
    gate.set()
    assert service.worker.wait_idle(30) and results == []
    service.submit(state)
    assert _wait(results) and results[0].error == ""
    service.close()
