import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402
from typing import Callable  # noqa: E402

import pytest  # noqa: E402
import torch  # noqa: E402

# Two cores: keep each test process from oversubscribing them.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture
def tmp_ckpt(tmp_path):
    return tmp_path / "model.safetensors"


def _wait_until(predicate: Callable[[], bool], timeout: float = 60.0, interval: float = 0.01,
                message: str = "") -> None:
    """Poll ``predicate`` until it holds; fail the test if it still does not after ``timeout`` seconds.

    The timeout only bounds a hang: a slow machine waits longer, it never fails a test that would pass.
    """
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            pytest.fail(message or f"condition not met within {timeout:g} s")
        time.sleep(interval)


@pytest.fixture
def wait_until():
    """``wait_until(predicate, timeout=60)``: poll a condition instead of sleeping a fixed time (Qt tests use
    ``qtbot.waitUntil``, which also runs the event loop)."""
    return _wait_until


def _tiny_models(name: str, seed: int = 0, visible_noise: bool = False, **overrides):
    """(G, D) of a registered family in its tiny variant (``overrides`` on top), both built right after
    ``torch.manual_seed(seed)`` and put in eval mode; D is None for families without one (the VAE).
    ``visible_noise``: StyleGAN's learned noise strengths (0 when built) set to 0.5, as in a trained model."""
    from ganstudio.models import create_discriminator, create_generator, get_spec
    cfg = {**get_spec(name).tiny, **overrides}
    torch.manual_seed(seed)
    G = create_generator(name, **cfg).eval()
    D = create_discriminator(name, **cfg)
    if visible_noise:
        with torch.no_grad():
            for n, p in G.named_parameters():
                if n.endswith("noise_strength"):
                    p.fill_(0.5)
    return G, (D.eval() if D is not None else None)


def _latents(G, n: int = 2, seed: int = 0):
    """(z, c) for ``n`` samples of G from their own generator: c one-hot over classes 0, 1, 2… (None when
    G is unconditional)."""
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed))
    c = None
    if G.c_dim:
        c = torch.nn.functional.one_hot(torch.arange(n) % G.c_dim, G.c_dim).float()
    return z, c


@pytest.fixture
def tiny_models():
    """``tiny_models("acgan", img_resolution=8)`` -> (G, D): the family's tiny variant, seeded, eval mode
    (``visible_noise=True``: StyleGAN noise strengths 0.5 instead of 0)."""
    return _tiny_models


@pytest.fixture
def latents():
    """``latents(G, n=2, seed=0)`` -> (z, c): seeded inputs that fit G (c one-hot, or None)."""
    return _latents


@pytest.fixture
def round_trip(tmp_path):
    """``round_trip(G, D=None, **save_kw)`` -> the loaded checkpoint, after checking that every tensor of
    G's (and D's) state dict came back bit for bit; ck.G and ck.D are in eval mode."""
    from ganstudio.checkpoints import load_checkpoint, save_checkpoint

    def check(G, D=None, **save_kw):
        path = save_checkpoint(tmp_path / f"{G.model_name}-round-trip.safetensors", G, D=D, **save_kw)
        ck = load_checkpoint(path, load_D=D is not None)
        for net, loaded in ((G, ck.G), (D, ck.D)):
            if net is None:
                continue
            assert loaded is not None
            saved, back = net.state_dict(), loaded.state_dict()
            assert list(saved) == list(back)
            for k, v in saved.items():
                assert torch.equal(v, back[k]), k
            loaded.eval()
        return ck
    return check


# A wait's timeout only says when to give up on a hang: a short one (pytest-qt's default is 5 s) failed tests
# on a loaded machine that passed alone.  Every qtbot wait gives up after a minute at the earliest.
QT_WAIT_FLOOR_MS = 60_000


@pytest.fixture
def qtbot(qtbot):
    """pytest-qt's qtbot whose ``waitUntil`` / ``waitSignal`` time out after at least QT_WAIT_FLOOR_MS."""
    wait_until, wait_signal = qtbot.waitUntil, qtbot.waitSignal

    def floor(timeout):
        return timeout if timeout is None or timeout <= 0 else max(timeout, QT_WAIT_FLOOR_MS)

    def waitUntil(callback, *, timeout=5000):
        return wait_until(callback, timeout=floor(timeout))

    def waitSignal(signal, *, timeout=5000, **kwargs):
        return wait_signal(signal, timeout=floor(timeout), **kwargs)
    qtbot.waitUntil = qtbot.wait_until = waitUntil
    qtbot.waitSignal = qtbot.wait_signal = waitSignal
    return qtbot
