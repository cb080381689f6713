"""The 2-D playground's Qt-free core: distributions, the MLP GAN's updates, losses and rates changed between steps."""
import pytest
import torch

from ganstudio.training.playground import (BOUNDS, DISTRIBUTIONS, LOSSES, Playground, PlaygroundConfig, check_points,
                                           nearest_distance, sample_distribution)


@pytest.mark.parametrize("name", [d for d in DISTRIBUTIONS if d != "drawn"])
def test_distributions_have_shape_and_support(name):
    pts = sample_distribution(name, 2000, torch.Generator().manual_seed(0))
    assert pts.shape == (2000, 2) and torch.isfinite(pts).all()
    assert pts.abs().max() < BOUNDS[1] - 0.3  # inside the plotted square with a margin
    assert pts.std(0).min() > 0.3  # spread over the plane, not collapsed


def test_ring_points_lie_near_its_eight_centres():
    pts = sample_distribution("ring", 4000, torch.Generator().manual_seed(1))
    r = pts.norm(dim=1)
    assert (r - 1.6).abs().max() < 0.4
    angle = torch.atan2(pts[:, 1], pts[:, 0]) % (2 * torch.pi)
    sector = torch.round(angle / (2 * torch.pi / 8)) % 8
    assert torch.bincount(sector.long(), minlength=8).min() > 300  # all eight modes present


def test_grid_has_25_modes():
    pts = sample_distribution("grid", 5000, torch.Generator().manual_seed(2))
    cell = torch.round(pts / 0.8)
    assert len({tuple(c) for c in cell.tolist()}) == 25
    assert (pts - cell * 0.8).abs().max() < 0.3


def test_drawn_set_is_sampled_near_the_drawn_points_and_needs_points():
    drawn = [(1.0, 1.0), (-1.0, 0.5)]
    pts = sample_distribution("drawn", 1000, torch.Generator().manual_seed(0), torch.tensor(drawn))
    assert nearest_distance(pts, torch.tensor(drawn)) < 0.1
    with pytest.raises(ValueError, match="no points"):
        sample_distribution("drawn", 10, torch.Generator(), torch.zeros(0, 2))
    with pytest.raises(ValueError, match="pairs"):
        check_points([(1.0, 2.0, 3.0)])
    with pytest.raises(ValueError, match="finite"):
        check_points([(float("nan"), 0.0)])


def test_bad_config_is_refused_with_its_name():
    with pytest.raises(ValueError, match="distribution"):
        Playground(PlaygroundConfig(distribution="square"))
    with pytest.raises(ValueError, match="loss"):
        Playground().set_loss("wgan")  # the playground's WGAN is "wgan-gp"
    with pytest.raises(ValueError, match="lr_g"):
        Playground().set_lr(lr_g=float("nan"))


def test_training_moves_fakes_towards_the_reals():
    p = Playground(PlaygroundConfig(distribution="ring", seed=0))
    before = float(nearest_distance(p.frame().fake, p.real_shown))
    for _ in range(200):
        p.step()
    after = float(nearest_distance(p.frame().fake, p.real_shown))
    assert after < 0.5 * before
    assert len(p.history) == 200 and p.history[-1].step == 200


def test_d_learns_to_tell_a_fixed_real_set_from_the_fakes():
    p = Playground(PlaygroundConfig(distribution="moons", seed=3, lr_g=1e-5))  # G nearly frozen
    real = p.real_shown
    with torch.no_grad():
        fake = p.G(p.z_shown)
    def gap():
        with torch.no_grad():
            return float(p.D(real).mean() - p.D(fake).mean())
    g0 = gap()
    for _ in range(30):
        p.step()
    assert gap() > g0 + 0.5


def test_user_drawn_set_is_what_it_trains_on():
    drawn = [(1.5, 1.5), (1.6, 1.4), (1.4, 1.6)]
    p = Playground(PlaygroundConfig(distribution="drawn", seed=0), drawn=drawn)
    assert nearest_distance(p.real_shown, torch.tensor(drawn)) < 0.1
    for _ in range(200):
        p.step()
    fake = p.frame().fake
    assert float(fake.mean(0).sub(torch.tensor([1.5, 1.5])).norm()) < 0.5  # the fakes went to the drawn corner


def test_empty_drawn_set_is_not_ready_and_step_refuses():
    p = Playground(PlaygroundConfig(distribution="drawn"))
    assert not p.ready
    with pytest.raises(ValueError, match="click or drag"):
        p.step()
    p.add_drawn(0.5, 0.5)
    assert p.ready and p.step().step == 1


@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_loss_steps_and_draws(loss):
    p = Playground(PlaygroundConfig(loss=loss, n_shown=64))
    s = p.step()
    assert torch.isfinite(torch.tensor([s.d_loss, s.g_loss])).all()
    f = p.frame(res=16)
    assert f.heat.shape == (16, 16) and f.fake.shape == (64, 2) and f.grad.shape == (64, 2)
    assert f.heat_levels[0] < f.heat_levels[1]
    if loss in ("ns", "minimax"):
        assert 0 <= float(f.heat.min()) and float(f.heat.max()) <= 1


def test_gradient_arrows_point_up_d():
    # Minus G's loss gradient moves a fake point where D scores it as more real.
    p = Playground(PlaygroundConfig(seed=1, n_shown=32))
    for _ in range(20):
        p.step()
    f = p.frame()
    with torch.no_grad():
        moved = p.D(f.fake + 1e-3 * f.grad / f.grad.norm(dim=1, keepdim=True)) - p.D(f.fake)
    assert (moved > 0).float().mean() > 0.9


def test_loss_and_rates_change_between_steps_keeping_the_networks():
    p = Playground(PlaygroundConfig(seed=0))
    p.step()
    weights = [w.clone() for w in p.G.parameters()]
    p.set_loss("hinge")
    p.set_lr(lr_g=0.01, lr_d=0.02)
    assert [g["lr"] for g in p.opt_g.param_groups] == [0.01] and [g["lr"] for g in p.opt_d.param_groups] == [0.02]
    assert all(torch.equal(a, b) for a, b in zip(weights, p.G.parameters()))
    s = p.step()
    assert s.step == 2 and p.config.loss == "hinge"


def test_reset_with_a_seed_is_reproducible():
    a, b = Playground(PlaygroundConfig(seed=5)), Playground(PlaygroundConfig(seed=9))
    b.reset(seed=5)
    for _ in range(3):
        assert a.step() == b.step()
