"""VQ-VAE and its gated PixelCNN prior: straight-through gradients, the codebook's updates, causal masks, sampling."""
import pytest
import torch

from ganstudio.models import create_generator, tiny_config
from ganstudio.models.pixelcnn import GatedPixelCNN


def _tiny(**over):
    torch.manual_seed(0)
    return create_generator("vqvae", tiny_config("vqvae", **over))


def test_straight_through_gradient_reaches_the_encoder():
    G = _tiny(codebook_update="loss")
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    out = G.vq_losses(x)
    out.rec.backward()  # the reconstruction alone: only the straight-through path connects it to the encoder
    grads = [p.grad for p in G.encoder.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    assert G.codebook.embed.grad is None  # the argmin passes no gradient to the codebook itself
    G.zero_grad()
    out = G.vq_losses(x)
    out.codebook.backward()  # the codebook loss moves the entries, not the encoder
    assert G.codebook.embed.grad is not None and float(G.codebook.embed.grad.abs().sum()) > 0
    assert all(p.grad is None or not p.grad.any() for p in G.encoder.parameters())


def test_commitment_term_pulls_the_encoder_toward_its_codes():
    G = _tiny()
    G.eval()  # no EMA update: the codebook stays put
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    out = G.vq_losses(x)
    out.commit.backward()
    assert sum(float(p.grad.abs().sum()) for p in G.encoder.parameters()) > 0
    assert G.codebook.embed.grad is None


def test_ema_update_moves_entries_to_the_mean_of_their_vectors():
    G = _tiny(ema_decay=0.0, restart=0.0)  # decay 0: each entry becomes the mean of this batch's vectors
    G.train()
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    G.vq_losses(x, generator=torch.Generator().manual_seed(0))  # first batch: entries drawn from the data
    before = G.codebook.embed.detach().clone()
    with torch.no_grad():
        flat = G.encoder(x).permute(0, 2, 3, 1).reshape(-1, G.codebook.embed.shape[1])
        idx = G.codebook.nearest(flat)
    G.vq_losses(x, generator=torch.Generator().manual_seed(0))
    for k in idx.unique().tolist():
        assert torch.allclose(G.codebook.embed[k], flat[idx == k].mean(0), atol=1e-5)
    unused = [k for k in range(G.num_codes) if k not in idx.tolist()]
    for k in unused:  # Laplace smoothing keeps unused entries finite
        assert torch.isfinite(G.codebook.embed[k]).all()
    assert not torch.equal(before, G.codebook.embed)


def test_unused_codes_are_restarted_from_the_batch():
    G = _tiny(restart=0.5, ema_decay=0.5)
    G.train()
    x = torch.rand(8, 1, 8, 8) * 2 - 1
    g = torch.Generator().manual_seed(0)
    for _ in range(6):
        G.vq_losses(x, generator=g)
    assert (G.codebook.ema_count >= 0.5 * 0.5).all()  # a dead entry was re-seeded (count 1) within a step


def _dependencies(net, g):
    """deps[p] = the cells whose change alters the logits at raster position p (each cell changed two ways)."""
    torch.manual_seed(1)
    base = torch.randint(0, net.num_codes, (g * g,))
    batch = [base]
    for j in range(g * g):
        for delta in (1, 2):
            x = base.clone()
            x[j] = (x[j] + delta) % net.num_codes
            batch.append(x)
    with torch.no_grad():
        out = net(torch.stack(batch).view(-1, g, g)).flatten(2)  # [1 + 2 g^2, K, g^2]
    changed = (out[1:] != out[:1]).any(dim=1).view(g * g, 2, g * g).any(dim=1)  # [perturbed cell j, position p]
    return [set(changed[:, p].nonzero().flatten().tolist()) for p in range(g * g)]


@pytest.mark.parametrize("kernel,layers", [(3, 4), (5, 2)])
def test_pixelcnn_is_causal_and_has_no_blind_spot(kernel, layers):
    g = 5
    torch.manual_seed(0)
    net = GatedPixelCNN(num_codes=6, channels=8, layers=layers, kernel=kernel, out_hidden=8)
    for p, deps in enumerate(_dependencies(net, g)):
        # causal: nothing at or after p; no blind spot: everything before p
        assert deps == set(range(p)), f"position {p} depends on {sorted(deps)}"


def test_sampling_keeps_cells_outside_the_region_and_is_seeded():
    G = _tiny()
    G.eval()
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(3))
    codes = G.sample_codes(z)
    assert codes.shape == (1, 4, 4) and codes.min() >= 0 and codes.max() < G.num_codes
    assert torch.equal(codes, G.sample_codes(z))  # the same z, the same sample
    cells = torch.zeros(4, 4, dtype=torch.bool)
    cells[1:3, 1:3] = True
    z2 = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(4))
    out = G.sample_codes(z2, codes=codes, cells=cells)
    assert torch.equal(out[0][~cells], codes[0][~cells])
    # the first region cell sees only the cells before it: the same draw whatever the cells after it hold
    later = codes.clone()
    later[0, 3] = (later[0, 3] + 1) % G.num_codes
    assert out[0, 1, 1] == G.sample_codes(z2, codes=later, cells=cells)[0, 1, 1]


def test_low_temperature_picks_the_most_likely_code():
    net = GatedPixelCNN(num_codes=5, channels=4, layers=1, kernel=3, out_hidden=4)
    codes = torch.zeros(3, 2, 2, dtype=torch.long)
    cells = torch.zeros(2, 2, dtype=torch.bool)
    cells[0, 0] = True
    u = torch.rand(3, 2, 2, generator=torch.Generator().manual_seed(0)).clamp(0.01, 0.99)
    with torch.no_grad():
        best = net(codes)[:, :, 0, 0].argmax(1)
    out = net.sample(codes, cells, u, temperature=1e-4)
    assert torch.equal(out[:, 0, 0], best)
    with pytest.raises(ValueError, match="temperature"):
        net.sample(codes, cells, u, temperature=0.0)


def test_synthesis_decodes_any_ws_and_refuses_bad_codes():
    G = _tiny()
    ws = torch.tensor([[[float("nan"), -5.0, 3.4, 1e9] + [0.0] * 12]])
    img = G.synthesis(ws)  # rounded and clamped like the code-map panel shows it
    assert img.shape == (1, 1, 8, 8) and torch.isfinite(img).all()
    assert G.codes_from_ws(ws)[0, 0].tolist() == [0, 0, 3, G.num_codes - 1]
    with pytest.raises(ValueError, match="codes"):
        G.decode_codes(torch.full((1, 4, 4), G.num_codes))
    with pytest.raises(ValueError, match="grid"):
        create_generator("vqvae", tiny_config("vqvae", grid=3))


def test_reconstruct_is_decode_of_encode():
    G = _tiny()
    x = torch.rand(2, 1, 8, 8) * 2 - 1
    with torch.no_grad():
        assert torch.equal(G.reconstruct(x), G.decode_codes(G.encode_codes(x)))
