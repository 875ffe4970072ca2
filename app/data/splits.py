"""The split settings: the one declaration of their defaults and ranges.

A project's data section, the data panel's spin boxes, the loaders and the train script
all read SplitConfig and SPLIT. No torch here, so project checks can read them cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.params import FLOAT, INT, Param


@dataclass
class SplitConfig:
    """Fractions of the training pool held out, and the seed of the shuffle.

    Sources with an official test split (MNIST, CIFAR-10) keep it and ignore
    ``test_fraction``.
    """

    val_fraction: float = 0.2
    test_fraction: float = 0.0
    seed: int = 0


# Each fraction at most 0.9; together they must leave training samples (checked apart).
SPLIT = (
    Param("val_fraction", FLOAT, SplitConfig.val_fraction,
          "share of the data held out for validation", minimum=0.0, maximum=0.9),
    Param("test_fraction", FLOAT, SplitConfig.test_fraction,
          "share held out for testing (ignored when the source has an official test set)",
          minimum=0.0, maximum=0.9),
    Param("seed", INT, SplitConfig.seed, "seed of the shuffle that picks the held-out samples",
          minimum=0),
)
