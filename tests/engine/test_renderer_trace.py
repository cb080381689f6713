"""A repeated StyleGAN2 render on the CPU runs a traced synthesis (issue 17: fewer Python calls holding the
GIL beside the GUI thread): the same pixels as the eager forward, and never where a trace could differ."""
import numpy as np
import pytest
import torch

from ganstudio.engine import Renderer, RenderState
from ganstudio.engine import renderer as renderer_module

MODEL = "registry:stylegan2:tiny"


@pytest.fixture(autouse=True)
def any_speed(monkeypatch):
    """Every eager forward counts as fast (the rule is about speed; these tests are about which calls)."""
    monkeypatch.setattr(renderer_module, "TRACE_BELOW_MS", float("inf"))


def _traces(r: Renderer) -> dict:
    return {k: v for k, v in r.generator(MODEL).__dict__.get("_render_traces", {}).items()}


def _traced(r: Renderer) -> list:
    return [k for k, v in _traces(r).items() if isinstance(v, torch.jit.ScriptFunction)]


def test_a_repeated_render_is_traced_and_renders_the_same_pixels(monkeypatch):
    traced, eager = Renderer("cpu"), Renderer("cpu")
    states = [RenderState(model=MODEL, seed=s, truncation_psi=0.7) for s in range(4)]
    first = traced.render(states[0])
    assert first.error == "" and not _traced(traced)  # seen once: eager
    images = [traced.render(s).image for s in states]
    assert len(_traced(traced)) == 1  # one trace for this call's shape and noise settings
    monkeypatch.setattr(renderer_module, "TRACE_BELOW_MS", -1.0)  # never traced
    for state, image in zip(states, images):
        assert np.array_equal(image, eager.render(state).image)
    assert not _traced(eager)


def test_calls_a_trace_could_get_wrong_stay_eager():
    r = Renderer("cpu")
    for seed in range(3):
        assert r.render(RenderState(model=MODEL, seed=seed, noise_mode="random")).error == ""
    assert not _traces(r)  # random noise: a replay would draw it differently
    for seed in range(3):
        r.render(RenderState(model=MODEL, seed=seed))
    assert len(_traced(r)) == 1
    # Layer captures hook the modules, which a trace does not run: they still come back.
    res = r.render(RenderState(model=MODEL, seed=5), capture=("layers",))
    assert res.error == "" and res.captures["layers"]
    # Another batch size or noise strength is another call: traced only once it repeats.
    r.render(RenderState(model=MODEL, seed=1, noise_strength=0.5))
    assert len(_traced(r)) == 1
