"""The optimizer playground against torch's optimizers stepped by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.learn.optim_playground import (
    HIMMELBLAU_MINIMA,
    OPTIMIZERS,
    SURFACES,
    PlaygroundError,
    Runner,
    default_lr,
    grid,
    himmelblau,
    nearest_minimum,
    quadratic_bowl,
    run_optimizer,
    run_optimizers,
    surface,
)

HAND = {
    "SGD": lambda p, lr: torch.optim.SGD([p], lr=lr),
    "Momentum": lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.9),
    "Nesterov": lambda p, lr: torch.optim.SGD([p], lr=lr, momentum=0.9, nesterov=True),
    "Adagrad": lambda p, lr: torch.optim.Adagrad([p], lr=lr),
    "RMSprop": lambda p, lr: torch.optim.RMSprop([p], lr=lr),
    "Adam": lambda p, lr: torch.optim.Adam([p], lr=lr),
    "AdamW": lambda p, lr: torch.optim.AdamW([p], lr=lr),
}


def by_hand(fn, make, lr: float, start: tuple[float, float], steps: int) -> np.ndarray:
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = make(p, lr)
    points = [p.detach().clone().numpy()]
    for _ in range(steps):
        opt.zero_grad()
        fn(p[0], p[1]).backward()
        opt.step()
        points.append(p.detach().clone().numpy())
    return np.array(points)


@pytest.mark.parametrize("name", list(HAND))
@pytest.mark.parametrize("surface_id", list(SURFACES))
def test_trajectory_equals_torch_stepped_by_hand(name: str, surface_id: str) -> None:
    s = surface(surface_id)
    lr = default_lr(s, name)
    got = run_optimizer(s.fn, name, lr, s.start, 40)
    want = by_hand(s.fn, HAND[name], lr, s.start, 40)
    assert got.points.shape == (41, 2)
    np.testing.assert_array_equal(got.points, want)
    np.testing.assert_array_equal(got.losses, [float(s.fn(*map(torch.tensor, p)))
                                               for p in want])
    assert got.points[0].tolist() == list(s.start)


def test_every_optimizer_of_the_playground_is_checked_by_hand() -> None:
    assert set(OPTIMIZERS) == set(HAND)


def test_adam_from_the_origin_reaches_3_2_on_himmelblau() -> None:
    end = run_optimizer(himmelblau, "Adam", 1e-3, (0.0, 0.0), 20_000).end
    assert math.dist(end, (3.0, 2.0)) < 1e-3
    assert nearest_minimum(HIMMELBLAU_MINIMA, end) == 0


@pytest.mark.parametrize("start", [(-4.0, 4.0), (-4.0, -4.0), (4.0, -4.0), (1.0, 1.0),
                                   (-1.0, -1.0)])
def test_other_starts_end_at_the_minimum_torch_reaches(start: tuple[float, float]) -> None:
    got = run_optimizer(himmelblau, "SGD", 0.01, start, 400)
    want = by_hand(himmelblau, HAND["SGD"], 0.01, start, 400)[-1]
    reached = nearest_minimum(HIMMELBLAU_MINIMA, tuple(want), tolerance=1e-4)
    assert reached is not None
    assert nearest_minimum(HIMMELBLAU_MINIMA, got.end, tolerance=1e-4) == reached


def test_himmelblau_minima_are_zeros_of_the_function() -> None:
    for x, y in HIMMELBLAU_MINIMA:
        assert float(himmelblau(torch.tensor(x, dtype=torch.float64),
                                torch.tensor(y, dtype=torch.float64))) < 1e-9
    # the course notes' misprints are not minima
    assert float(himmelblau(torch.tensor(3.2), torch.tensor(2.0))) > 1.0
    assert float(himmelblau(torch.tensor(3.584428), torch.tensor(-1.858126))) > 1e-3


def test_the_bowl_has_the_chosen_condition_number() -> None:
    s = quadratic_bowl(25.0)
    hessian = torch.autograd.functional.hessian(
        lambda p: s.fn(p[0], p[1]), torch.tensor([0.3, -0.7], dtype=torch.float64))
    eig = torch.linalg.eigvalsh(hessian)
    assert float(eig.max() / eig.min()) == pytest.approx(25.0)
    with pytest.raises(PlaygroundError, match="condition number"):
        quadratic_bowl(0.5)


def test_diverging_run_stops_at_its_last_finite_point() -> None:
    t = run_optimizer(himmelblau, "SGD", 1.0, (0.0, 0.0), 100)
    assert t.diverged
    assert 1 < len(t.points) < 101
    assert np.isfinite(t.points).all() and np.isfinite(t.losses).all()


def test_runner_steps_one_at_a_time_like_run_optimizer() -> None:
    runner = Runner(himmelblau, "RMSprop", 0.05, (1.0, -1.0))
    for _ in range(5):
        assert runner.step()
    assert runner.steps == 5
    np.testing.assert_array_equal(
        runner.trajectory().points, run_optimizer(himmelblau, "RMSprop", 0.05, (1.0, -1.0),
                                                  5).points)


def test_run_optimizers_shares_the_start_point() -> None:
    runs = run_optimizers(himmelblau, [("SGD", 0.01), ("Adam", 0.1)], (2.0, -3.0), 3)
    assert [r.optimizer for r in runs] == ["SGD", "Adam"]
    assert all(r.points[0].tolist() == [2.0, -3.0] for r in runs)
    assert not np.array_equal(runs[0].points[1], runs[1].points[1])


def test_bad_settings_are_one_line_errors() -> None:
    with pytest.raises(PlaygroundError, match="learning rate must be > 0"):
        run_optimizer(himmelblau, "Adam", 0.0, (0, 0), 1)
    with pytest.raises(PlaygroundError, match="unknown optimizer 'LBFGS'"):
        run_optimizer(himmelblau, "LBFGS", 0.1, (0, 0), 1)
    with pytest.raises(PlaygroundError, match="unknown function 'ackley'"):
        surface("ackley")


def test_grid_samples_the_function_with_x_first() -> None:
    g = grid(SURFACES["himmelblau"], n=13)
    assert g.z.shape == (13, 13)
    assert g.z[9, 4] == pytest.approx(float(himmelblau(torch.tensor(g.xs[9]),
                                                       torch.tensor(g.ys[4]))))
    assert g.shaded().min() == 0.0


def test_nearest_minimum_needs_to_be_close() -> None:
    assert nearest_minimum(HIMMELBLAU_MINIMA, (-2.8, 3.13)) == 1
    assert nearest_minimum(HIMMELBLAU_MINIMA, (0.0, 0.0)) is None
    assert nearest_minimum((), (0.0, 0.0)) is None
