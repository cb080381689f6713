"""The PixelCNN's cell-by-cell sampler against the network's own forward pass, and its remembered prefix."""
import pytest
import torch

from ganstudio.models.pixelcnn import GatedPixelCNN, _CellSampler


@pytest.fixture(autouse=True, params=["numpy", "torch"])
def cell_path(request, monkeypatch):
    """Every test on both of the cell sampler's paths: NumPy (CPU float32) and torch (other devices)."""
    monkeypatch.setattr(_CellSampler, "use_numpy", request.param == "numpy")
    return request.param


def _net(kernel=3, layers=3, codes=12, seed=0):
    torch.manual_seed(seed)
    net = GatedPixelCNN(num_codes=codes, channels=8, layers=layers, kernel=kernel, out_hidden=16).eval()
    with torch.no_grad():  # sharper than the initialization, so that the context changes the distributions
        for p in net.parameters():
            p.mul_(3.0)
    return net


def _forward_cdf(net, codes, temperature=1.0):
    with torch.no_grad():
        return torch.softmax(net(codes).float() / temperature, dim=1).cumsum(dim=1)  # [N, K, H, W]


@pytest.mark.parametrize("kernel,layers,n,region", [(3, 3, 1, False), (3, 4, 3, False), (5, 2, 2, True),
                                                    (3, 2, 1, True)])
def test_every_sampled_code_is_drawn_from_the_forward_pass_distribution(kernel, layers, n, region):
    net, g = _net(kernel, layers), 6
    gen = torch.Generator().manual_seed(1)
    start = torch.randint(0, net.num_codes, (n, g, g), generator=gen)
    cells = torch.rand(g, g, generator=gen) < 0.5 if region else torch.ones(g, g, dtype=torch.bool)
    u = torch.rand(n, g, g, generator=gen)
    out = net.sample(start, cells, u, temperature=0.8)
    assert torch.equal(out[:, ~cells], start[:, ~cells])
    cdf = _forward_cdf(net, out, 0.8)  # the distribution of every cell given the final grid's cells before it
    picked = (cdf < (u.unsqueeze(1) * cdf[:, -1:])).sum(1).clamp(max=net.num_codes - 1)
    assert torch.equal(out[:, cells], picked[:, cells])
    assert len(set(out[:, cells].flatten().tolist())) > 2  # the test would pass on a constant grid otherwise


def test_the_kept_distributions_are_the_forward_pass_ones():
    net, g = _net(), 5
    u = torch.rand(1, g, g, generator=torch.Generator().manual_seed(2))
    codes = torch.zeros(1, g, g, dtype=torch.long)
    sampler = _CellSampler(net, codes, u, 1.0, None)
    with torch.no_grad():
        sampler.run(torch.ones(g, g, dtype=torch.bool))
    expected = _forward_cdf(net, sampler.codes)[0].permute(1, 2, 0).reshape(g * g, -1)
    torch.testing.assert_close(sampler.cdf, expected, rtol=0, atol=1e-5)


def test_a_remembered_prefix_gives_the_codes_of_a_fresh_sample():
    net, g = _net(layers=4), 6
    gen = torch.Generator().manual_seed(3)
    u = torch.rand(1, g, g, generator=gen)
    cells, zeros = torch.ones(g, g, dtype=torch.bool), torch.zeros(1, g, g, dtype=torch.long)
    kept_whole_prefix = changed = 0
    for step in range(40):
        u = u.clone()
        if step % 3 == 0:  # a slider on one cell's draw
            u[0, 0, 0] = (step / 40) % 1.0
        else:  # any cell, anywhere
            u.view(-1)[int(torch.randint(0, g * g, (1,), generator=gen))] = torch.rand(1, generator=gen).item()
        before = getattr(net, "_last_sample", None)
        remembered = net.sample(zeros, cells, u)
        net._last_sample = None
        fresh = net.sample(zeros, cells, u)
        assert torch.equal(remembered, fresh), f"step {step}"
        if before is not None:
            changed += int(not torch.equal(before[1], remembered.flatten()))
            kept_whole_prefix += int(torch.equal(before[1], remembered.flatten()))
    assert changed and kept_whole_prefix  # both paths were taken


def test_the_remembered_sample_is_dropped_when_the_weights_or_the_temperature_change():
    net, g = _net(), 4
    u = torch.rand(1, g, g, generator=torch.Generator().manual_seed(4))
    cells, zeros = torch.ones(g, g, dtype=torch.bool), torch.zeros(1, g, g, dtype=torch.long)
    first = net.sample(zeros, cells, u)
    with torch.no_grad():
        net.head[-1].bias[int(first[0, 0, 0])] -= 50.0  # the first cell's code becomes unlikely
    second = net.sample(zeros, cells, u)
    assert second[0, 0, 0] != first[0, 0, 0]
    net._last_sample = None
    assert torch.equal(second, net.sample(zeros, cells, u))
    cold = net.sample(zeros, cells, u, temperature=0.05)
    net._last_sample = None
    assert torch.equal(cold, net.sample(zeros, cells, u, temperature=0.05))


def test_mismatched_shapes_are_refused():
    net = _net()
    with pytest.raises(ValueError, match="must agree"):
        net.sample(torch.zeros(1, 4, 4, dtype=torch.long), torch.ones(3, 4, dtype=torch.bool), torch.rand(1, 4, 4))


def test_both_paths_draw_the_same_codes_and_distributions_and_report_every_cell():
    net, g = _net(kernel=5, layers=3), 6
    gen = torch.Generator().manual_seed(5)
    u = torch.rand(2, g, g, generator=gen)
    start = torch.randint(0, net.num_codes, (2, g, g), generator=gen)
    cells = torch.rand(g, g, generator=gen) < 0.6
    out = {}
    for path in (True, False):
        seen = []
        sampler = _CellSampler(net, start.clone(), u, 0.7, lambda done, codes: seen.append((done, codes.clone())))
        sampler.use_numpy = path
        with torch.no_grad():
            sampler.run(cells)
        assert [d for d, _ in seen] == list(range(1, int(cells.sum()) + 1))
        assert torch.equal(seen[-1][1], sampler.codes)
        out[path] = sampler
    assert torch.equal(out[True].codes, out[False].codes)
    torch.testing.assert_close(out[True].cdf, out[False].cdf, rtol=0, atol=1e-5)
    assert not out[True].cdf[~cells.flatten()].any()  # cells not sampled keep no distribution


def test_inference_tensors_sample_on_the_numpy_path():
    net, g = _net(), 5
    u = torch.rand(1, g, g, generator=torch.Generator().manual_seed(6))
    zeros, cells = torch.zeros(1, g, g, dtype=torch.long), torch.ones(g, g, dtype=torch.bool)
    expected = net.sample(zeros, cells, u)
    with torch.inference_mode():
        fresh = GatedPixelCNN(num_codes=12, channels=8, layers=3, kernel=3, out_hidden=16).eval()
        fresh.load_state_dict(net.state_dict())
        got = fresh.sample(zeros, cells, u)
    assert torch.equal(got, expected)
