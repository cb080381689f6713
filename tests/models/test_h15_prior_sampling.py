"""The PixelCNN prior's sampler under extreme temperatures and from two threads at once (the remembered
prefix lives on the module, shared by the explorer's render threads)."""
import threading

import pytest
import torch

from ganstudio.models.pixelcnn import GatedPixelCNN


def _net(seed=0):
    torch.manual_seed(seed)
    net = GatedPixelCNN(num_codes=12, channels=8, layers=3, kernel=3, out_hidden=16).eval()
    with torch.no_grad():  # sharper than the initialization, so that the context changes the distributions
        for p in net.parameters():
            p.mul_(3.0)
    return net


@pytest.mark.parametrize("temperature", [1e-300, 1e-45, 5e-324])
@pytest.mark.parametrize("full", [True, False])
def test_a_vanishing_temperature_draws_the_most_likely_code(temperature, full):
    net, g = _net(), 5
    gen = torch.Generator().manual_seed(4)
    start = torch.randint(0, net.num_codes, (1, g, g), generator=gen)
    cells = torch.ones(g, g, dtype=torch.bool) if full else torch.rand(g, g, generator=gen) < 0.6
    u = torch.rand(1, g, g, generator=gen)
    out = net.sample(start, cells, u, temperature=temperature)  # full: the remembered path; else cell by cell
    with torch.no_grad():
        best = net(out).argmax(dim=1)  # each cell's most likely code given the cells before it
    assert torch.equal(out[:, cells], best[:, cells])
    assert len(set(out[:, cells].flatten().tolist())) > 1  # logits / 1e-300 overflowed to NaN: every cell drew code 0


def test_two_threads_sampling_different_latents_get_the_codes_of_fresh_samples():
    net, g = _net(1), 6
    cells, zeros = torch.ones(g, g, dtype=torch.bool), torch.zeros(1, g, g, dtype=torch.long)

    def walk(seed, n=25):  # a slider moving one cell's draw at a time, as a drag does
        gen = torch.Generator().manual_seed(seed)
        u, out = torch.rand(1, g, g, generator=gen), []
        for _ in range(n):
            u = u.clone()
            u.view(-1)[int(torch.randint(0, g * g, (1,), generator=gen))] = torch.rand(1, generator=gen).item()
            out.append(u)
        return out
    walks = {"a": walk(1), "b": walk(2)}
    threads_before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrix products: a 2-thread pool on a loaded machine is 10x slower
    try:  # report= bypasses the remembered prefix: the reference codes
        fresh = {k: [net.sample(zeros, cells, u, report=lambda *_: None) for u in us] for k, us in walks.items()}
    finally:
        torch.set_num_threads(threads_before)
    got, barrier = {}, threading.Barrier(2)

    def run(key):
        torch.set_num_threads(1)  # this thread's OpenMP pool: two pools on a loaded machine wait for each other
        barrier.wait()
        got[key] = [net.sample(zeros, cells, u) for u in walks[key]]
    threads = [threading.Thread(target=run, args=(k,)) for k in walks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for key in walks:
        assert len(got[key]) == len(fresh[key])
        assert all(torch.equal(a, b) for a, b in zip(got[key], fresh[key])), key
