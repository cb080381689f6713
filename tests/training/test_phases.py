"""The parts of a training step: the loss terms' table and the stats accumulator."""
from types import SimpleNamespace

import torch

from ganstudio.training.phases import D_TERMS, G_TERMS, GANLoss, Term
from ganstudio.training.stats import StatsAccumulator


def _loss(**cfg):
    from ganstudio.training.presets import TrainConfig
    # A trainer with no D (the terms tables are all these tests use), so no augmentation either.
    settings = {"lazy_adam": False, "augment": TrainConfig.augment, "diffaugment": TrainConfig.diffaugment,
                "ada_target": 0.6, "ada_kimg": 1.0, "ada_interval": 1, "model": "test", **cfg}
    trainer = SimpleNamespace(device=torch.device("cpu"), D=None, cfg=SimpleNamespace(**settings))
    return GANLoss(trainer)


def test_a_term_is_due_every_interval_steps_and_weighted_by_it():
    calls = []
    table = (Term("a", lambda c: c.a, lambda s, b: (calls.append("a"), torch.tensor(1.0))[1]),
             Term("b", lambda c: c.b, lambda s, b: (calls.append("b"), torch.tensor(10.0))[1], lambda c: 3),
             Term("off", lambda c: 0.0, lambda s, b: calls.append("off")))
    loss = _loss(a=0.5, b=2.0)
    due = []
    for counter in range(7):
        terms = {}
        total, lazy = loss._add_terms(table, None, counter, torch.tensor(0.0), terms)
        due.append(sorted(terms))
        assert lazy == []
        assert float(total) == 0.5 + (2.0 * 3 * 10.0 if counter % 3 == 0 else 0.0)
    assert due == [["a", "b"], ["a"], ["a"], ["a", "b"], ["a"], ["a"], ["a", "b"]]
    assert "off" not in calls and calls[:2] == ["a", "b"]  # table order: the order of the random draws


def test_lazy_terms_wait_for_a_pass_of_their_own_with_lazy_adam():
    table = (Term("r", lambda c: 1.0, lambda s, b: torch.tensor(4.0), lambda c: 2, lazy=True),)
    loss = _loss()
    terms = {}
    total, lazy = loss._add_terms(table, None, 0, torch.tensor(0.0), terms)
    assert float(total) == 8.0 and lazy == []  # folded into the main pass
    loss.t.cfg.lazy_adam = True
    total, lazy = loss._add_terms(table, None, 0, torch.tensor(0.0), terms := {})
    assert float(total) == 0.0 and [t.name for t in lazy] == ["r"] and terms == {}


def test_the_tables_name_every_regularizer_once():
    names = [t.name for t in D_TERMS + G_TERMS]
    assert len(names) == len(set(names))
    assert {"gp", "r1", "dragan", "drift", "class_D", "info_D"} <= set(names)
    assert {"pl", "ortho", "class_G", "info_G"} <= set(names)
    assert [t.name for t in D_TERMS + G_TERMS if t.lazy] == ["r1", "pl"]


def test_stats_accumulator_means_skip_absent_terms_and_name_the_first_bad_step():
    acc = StatsAccumulator(torch.device("cpu"))
    acc.add({"loss": torch.tensor(1.0), "r1": torch.tensor(4.0)})
    acc.add({"loss": torch.tensor(3.0)})  # r1 off-interval: absent, not missing
    means, bad, nonfinite = acc.report(step=12)
    assert means == {"loss": 2.0, "r1": 4.0} and bad is None and not nonfinite and len(acc) == 0
    acc.add({"loss": torch.tensor(1.0)})
    acc.add({"loss": torch.tensor(float("nan"))})
    acc.add({"loss": torch.tensor(float("inf"))})
    _, bad, nonfinite = acc.report(step=15)
    assert nonfinite and bad == 14
