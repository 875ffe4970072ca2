"""The optimizer playground: real `torch.optim` optimizers stepping on a 2-element parameter
over a 2-D test function, all from the same start point.

Qt-free. The GUI (app.ui.learn.playground) animates what `run_optimizers` returns; tests
compare it with torch's optimizers stepped by hand. Parameters are float64 so a long run
(20,000 Adam steps on Himmelblau) lands on the minimum to many digits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

Point = tuple[float, float]
Function = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
BLOWN_UP = 1e6  # a coordinate this large has left the map for good: the run diverged


class PlaygroundError(ValueError):
    """A setting the playground cannot run with (unknown function or optimizer, bad lr)."""


@dataclass(frozen=True)
class Surface:
    """A 2-D function f(x, y) with the window it is drawn in and its known minima."""

    id: str
    title: str
    formula: str
    fn: Function
    x_range: Point
    y_range: Point
    minima: tuple[Point, ...]
    start: Point
    lrs: dict[str, float] = field(default_factory=dict)  # good learning rates for this scale
    note: str = ""

    def value(self, x: torch.Tensor | float, y: torch.Tensor | float) -> torch.Tensor:
        return self.fn(torch.as_tensor(x, dtype=torch.float64),
                       torch.as_tensor(y, dtype=torch.float64))


def himmelblau(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def rosenbrock(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def beale(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return ((1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2
            + (2.625 - x + x * y * y * y) ** 2)


def saddle(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return x * x - y * y


def bowl(condition: float) -> Function:
    """½(x² + κ·y²): the Hessian's eigenvalues are 1 and κ, so κ is its condition number."""
    def fn(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return 0.5 * (x * x + condition * y * y)
    return fn


# The four minima of Himmelblau's function (f = 0 at each); the course notes misprint two
# of them as (3.2, 2.0) and (3.584428, -1.858126).
HIMMELBLAU_MINIMA: tuple[Point, ...] = (
    (3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))

ADAPTIVE = {"Adagrad": 0.5, "RMSprop": 0.05, "Adam": 0.1, "AdamW": 0.1}


def quadratic_bowl(condition: float = 10.0) -> Surface:
    if not (math.isfinite(condition) and condition >= 1):
        raise PlaygroundError(f"condition number must be >= 1 (got {condition})")
    sgd = round(1.0 / condition, 6)  # stable below 2/κ: the steep direction sets the pace
    return Surface(
        "bowl", f"Quadratic bowl (κ = {condition:g})", f"½(x² + {condition:g}·y²)",
        bowl(condition), (-5.0, 5.0), (-5.0, 5.0), ((0.0, 0.0),), (-4.5, 2.0),
        {"SGD": sgd, "Momentum": sgd / 4, "Nesterov": sgd / 4, **ADAPTIVE},
        "A large condition number makes a narrow valley: plain SGD zig-zags across it and "
        "crawls along it; momentum and adaptive methods fix that.")


SURFACES: dict[str, Surface] = {s.id: s for s in (
    Surface("himmelblau", "Himmelblau", "(x² + y − 11)² + (x + y² − 7)²", himmelblau,
            (-6.0, 6.0), (-6.0, 6.0), HIMMELBLAU_MINIMA, (0.0, 0.0),
            {"SGD": 0.01, "Momentum": 0.002, "Nesterov": 0.002, **ADAPTIVE},
            "Four minima, all with f = 0: which one an optimizer reaches depends on where "
            "it starts and how it steps."),
    Surface("rosenbrock", "Rosenbrock", "(1 − x)² + 100·(y − x²)²", rosenbrock,
            (-2.0, 2.0), (-1.0, 3.0), ((1.0, 1.0),), (-1.5, 2.0),
            {"SGD": 5e-4, "Momentum": 1e-4, "Nesterov": 1e-4, "Adagrad": 0.5,
             "RMSprop": 0.01, "Adam": 0.05, "AdamW": 0.05},
            "A curved, flat-bottomed valley: finding it is easy, following it to (1, 1) "
            "is slow."),
    Surface("beale", "Beale", "(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
            beale, (-4.5, 4.5), (-4.5, 4.5), ((3.0, 0.5),), (1.0, 1.5),
            {"SGD": 1e-3, "Momentum": 2e-4, "Nesterov": 2e-4, "Adagrad": 0.5,
             "RMSprop": 0.01, "Adam": 0.05, "AdamW": 0.05},
            "Sharp ridges near the corners and a flat plateau: gradient sizes vary by "
            "orders of magnitude, which adaptive methods handle best."),
    quadratic_bowl(),
    Surface("saddle", "Saddle", "x² − y²", saddle, (-3.0, 3.0), (-3.0, 3.0), (),
            (-2.5, 0.05), {"SGD": 0.02, "Momentum": 0.004, "Nesterov": 0.004, **ADAPTIVE},
            "No minimum: f falls forever along y. Near y = 0 the gradient along y is tiny, "
            "so plain SGD lingers on the saddle before it escapes."),
)}


def surface(surface_id: str, condition: float = 10.0) -> Surface:
    if surface_id == "bowl":
        return quadratic_bowl(condition)
    try:
        return SURFACES[surface_id]
    except KeyError:
        raise PlaygroundError(f"unknown function {surface_id!r} (choose from "
                              f"{', '.join(SURFACES)})") from None


@dataclass(frozen=True)
class OptimizerKind:
    """One entry of the playground's optimizer list: a torch.optim class and its settings."""

    name: str
    make: Callable[[list[torch.Tensor], float], torch.optim.Optimizer]
    default_lr: float
    help: str


OPTIMIZERS: dict[str, OptimizerKind] = {k.name: k for k in (
    OptimizerKind("SGD", lambda p, lr: torch.optim.SGD(p, lr=lr), 0.01,
                  "θ ← θ − lr·∇f"),
    OptimizerKind("Momentum", lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9), 0.002,
                  "SGD with momentum 0.9: a velocity accumulates past gradients"),
    OptimizerKind("Nesterov",
                  lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True), 0.002,
                  "momentum 0.9 with the Nesterov look-ahead"),
    OptimizerKind("Adagrad", lambda p, lr: torch.optim.Adagrad(p, lr=lr), 0.5,
                  "divides by the root of all past squared gradients"),
    OptimizerKind("RMSprop", lambda p, lr: torch.optim.RMSprop(p, lr=lr), 0.05,
                  "divides by a running RMS of recent gradients (alpha 0.99)"),
    OptimizerKind("Adam", lambda p, lr: torch.optim.Adam(p, lr=lr), 0.1,
                  "momentum + RMSprop with bias correction (betas 0.9, 0.999)"),
    OptimizerKind("AdamW", lambda p, lr: torch.optim.AdamW(p, lr=lr), 0.1,
                  "Adam with decoupled weight decay 0.01, which pulls θ towards 0"),
)}


@dataclass
class Trajectory:
    """Where one optimizer went: points[i] and losses[i] after i steps (points[0] = start).
    A run that blew up stops at its last finite point and is marked `diverged`."""

    optimizer: str
    lr: float
    points: np.ndarray  # (steps + 1, 2)
    losses: np.ndarray  # (steps + 1,)
    diverged: bool = False

    @property
    def end(self) -> Point:
        return float(self.points[-1, 0]), float(self.points[-1, 1])


def default_lr(s: Surface, name: str) -> float:
    """A learning rate that works for optimizer `name` on this function's scale."""
    return s.lrs.get(name, OPTIMIZERS[name].default_lr)


def make_optimizer(name: str, param: torch.Tensor, lr: float) -> torch.optim.Optimizer:
    if name not in OPTIMIZERS:
        raise PlaygroundError(f"unknown optimizer {name!r} (choose from "
                              f"{', '.join(OPTIMIZERS)})")
    if not (math.isfinite(lr) and lr > 0):
        raise PlaygroundError(f"{name}: learning rate must be > 0 (got {lr})")
    return OPTIMIZERS[name].make([param], lr)


class Runner:
    """One optimizer stepping on f from a start point, one step at a time (the GUI's
    animation advances it tick by tick; `run_optimizer` runs it to the end)."""

    def __init__(self, fn: Function, name: str, lr: float, start: Point) -> None:
        self.fn, self.name, self.lr = fn, name, lr
        self.param = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        self.optimizer = make_optimizer(name, self.param, lr)
        self.points: list[Point] = []
        self.losses: list[float] = []
        self.diverged = False
        self._loss = self._record()

    @property
    def steps(self) -> int:
        return len(self.points) - 1

    def _record(self) -> torch.Tensor | None:
        loss = self.fn(self.param[0], self.param[1])
        x, y = self.param.tolist()
        value = loss.item()
        if not (math.isfinite(value) and max(abs(x), abs(y)) < BLOWN_UP):
            self.diverged = True
            return None
        self.points.append((x, y))
        self.losses.append(value)
        return loss

    def step(self) -> bool:
        """One optimizer step; False (and nothing recorded) once the run has blown up."""
        if self._loss is None:
            return False
        (self.param.grad,) = torch.autograd.grad(self._loss, self.param)
        self.optimizer.step()
        self._loss = self._record()
        return self._loss is not None

    def trajectory(self) -> Trajectory:
        return Trajectory(self.name, self.lr, np.array(self.points, dtype=np.float64),
                          np.array(self.losses, dtype=np.float64), self.diverged)


def run_optimizer(fn: Function, name: str, lr: float, start: Point, steps: int
                  ) -> Trajectory:
    """`steps` steps of optimizer `name` on f from `start`, gradients by autograd."""
    if steps < 0:
        raise PlaygroundError(f"steps must be >= 0 (got {steps})")
    runner = Runner(fn, name, lr, start)
    for _ in range(steps):
        if not runner.step():
            break
    return runner.trajectory()


def run_optimizers(fn: Function, settings: Sequence[tuple[str, float]], start: Point,
                   steps: int) -> list[Trajectory]:
    """Every (optimizer, lr) of `settings` from the same start point."""
    return [run_optimizer(fn, name, lr, start, steps) for name, lr in settings]


def nearest_minimum(minima: Sequence[Point], point: Point, tolerance: float = 0.05
                    ) -> int | None:
    """Index of the minimum within `tolerance` of `point`, or None (not there yet)."""
    if not all(math.isfinite(v) for v in point):
        return None
    best = min(range(len(minima)), key=lambda i: math.dist(minima[i], point), default=None)
    if best is None or math.dist(minima[best], point) > tolerance:
        return None
    return best


@dataclass
class Grid:
    """f sampled on a regular grid for the heat map: z[i, j] = f(xs[i], ys[j])."""

    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray

    def shaded(self) -> np.ndarray:
        """log(1 + f − min f): the valleys of functions spanning many orders of magnitude
        (Rosenbrock reaches 10⁴ on its window) stay visible."""
        return np.log1p(self.z - self.z.min())


def grid(s: Surface, n: int = 200) -> Grid:
    xs = np.linspace(*s.x_range, n)
    ys = np.linspace(*s.y_range, n)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    z = s.fn(torch.from_numpy(gx), torch.from_numpy(gy)).numpy()
    return Grid(xs, ys, z)
