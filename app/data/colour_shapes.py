"""Colour shapes: a generated 10-class colour-image set, CIFAR-10's shape without files.

Each image is one shape or textured patch in a random colour on a random background,
at a random position, size and small rotation, plus pixel noise; colour never tells
the class, outline does. Everything is drawn at once with tensor operations from a
seeded generator, so 3,000 images at 32×32 take a fraction of a second and a project
reproduces its data exactly. Rotation stays within ±15° so a square never becomes a
diamond and a plus never an X.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from app.core.lazy import lazy_module
from app.core.params import Param
from app.data.source_spec import (
    Progress,
    RawData,
    SourceSpec,
    samples_param,
    seed_param,
    tensor_data,
)

torch = lazy_module("torch")  # imported when data is generated, not when listed

# (u, v, radius, frequency) coordinate tensors -> boolean mask
Mask = Callable[..., "torch.Tensor"]
MAX_TURN = math.radians(15)
MIN_CONTRAST = 0.45  # foreground-background distance in RGB, so every shape stays visible


def _circle(u, v, r, f):
    return u * u + v * v < r * r


def _ring(u, v, r, f):
    d = u * u + v * v
    return (d < r * r) & (d > (0.55 * r) ** 2)


def _square(u, v, r, f):
    return torch.maximum(u.abs(), v.abs()) < 0.8 * r


def _diamond(u, v, r, f):
    return u.abs() + v.abs() < r


def _triangle(u, v, r, f):
    # Equilateral, pointing up (v grows downwards in image rows).
    return (v < 0.5 * r) & (u.abs() * math.sqrt(3) < v + r)


def _plus(u, v, r, f):
    arm, half = 0.3 * r, r
    return ((u.abs() < arm) & (v.abs() < half)) | ((v.abs() < arm) & (u.abs() < half))


def _x(u, v, r, f):
    s, d = (u + v) / math.sqrt(2), (u - v) / math.sqrt(2)
    return _plus(s, d, r, f)


def _patch(u, v, r):
    return torch.maximum(u.abs(), v.abs()) < 0.85 * r


def _h_stripes(u, v, r, f):
    return _patch(u, v, r) & (torch.sin(f * v) > 0)


def _v_stripes(u, v, r, f):
    return _patch(u, v, r) & (torch.sin(f * u) > 0)


def _checker(u, v, r, f):
    return _patch(u, v, r) & (torch.sin(f * u) * torch.sin(f * v) > 0)


CLASSES: dict[str, Mask] = {
    "circle": _circle, "ring": _ring, "square": _square, "diamond": _diamond,
    "triangle": _triangle, "plus": _plus, "x": _x, "horizontal stripes": _h_stripes,
    "vertical stripes": _v_stripes, "checkerboard": _checker,
}


def _colours(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Background and foreground RGB per image, at least MIN_CONTRAST apart."""
    background = torch.rand(n, 3, generator=gen)
    foreground = torch.rand(n, 3, generator=gen)
    close = (foreground - background).norm(dim=1) < MIN_CONTRAST
    foreground[close] = 1.0 - background[close]
    still = (foreground - background).norm(dim=1) < MIN_CONTRAST
    # Mid-grey backgrounds: push the shape to the far corner of the colour cube.
    foreground[still] = (background[still] < 0.5).float()
    return background, foreground


def generate(n: int, size: int, seed: int, noise: float) -> tuple[torch.Tensor, torch.Tensor]:
    """`n` images (n, 3, size, size) in [0, 1] and their labels, classes in turn."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % len(CLASSES)
    labels = labels[torch.randperm(n, generator=gen)]
    centre = (torch.rand(n, 2, generator=gen) - 0.5) * 0.5
    radius = 0.45 + 0.3 * torch.rand(n, generator=gen)
    turn = (2 * torch.rand(n, generator=gen) - 1) * MAX_TURN
    # 2.5-4 stripe periods across a patch: at 32 px the finest stripe is still ~2 px wide.
    freq = (2.5 + 1.5 * torch.rand(n, generator=gen)) * math.pi / radius
    axis = (torch.arange(size) + 0.5) / size * 2 - 1
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    dx = x[None] - centre[:, 0, None, None]
    dy = y[None] - centre[:, 1, None, None]
    cos, sin = torch.cos(turn)[:, None, None], torch.sin(turn)[:, None, None]
    u, v = cos * dx + sin * dy, -sin * dx + cos * dy
    r, f = radius[:, None, None], freq[:, None, None]
    mask = torch.zeros(n, size, size, dtype=torch.bool)
    for k, draw in enumerate(CLASSES.values()):
        rows = labels == k
        mask[rows] = draw(u[rows], v[rows], r[rows], f[rows])
    background, foreground = _colours(n, gen)
    weight = mask[:, None].float()
    images = background[:, :, None, None] * (1 - weight) + foreground[:, :, None, None] * weight
    images = images + noise * torch.randn(images.shape, generator=gen)
    return images.clamp_(0, 1), labels


def _load(params: dict, progress: Progress | None) -> RawData:
    images, labels = generate(params["n_samples"], params["image_size"], params["seed"],
                              params["noise"])
    return RawData(tensor_data(images, labels, "classification"), "classification",
                   list(CLASSES), image_kind="float")


SPECS = [
    SourceSpec("shapes", "Colour shapes (generated, 10 classes)",
               "10 classes of coloured shapes and textures (circle, ring, square, diamond, "
               "triangle, plus, x, horizontal and vertical stripes, checkerboard) in random "
               "colours, positions and sizes; 3×32×32 like CIFAR-10 by default, generated "
               "in a blink, no files needed.", "built-in",
               [samples_param(3000),
                Param("image_size", "int", 32, "width and height in pixels", 8, 512),
                Param("noise", "float", 0.1, "standard deviation of the pixel noise",
                      0.0, 1.0),
                seed_param()], _load),
]
