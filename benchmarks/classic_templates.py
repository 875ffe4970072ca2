"""The ImageNet classics (AlexNet, VGG-11, VGG-16) on their generated Colour shapes with
the template's own settings: validation accuracy against chance (10%) and the seconds
the run took, as F5 would train them (probes off, like `python -m app train`).

    python benchmarks/classic_templates.py [--templates alexnet vgg11] [--epochs N]
"""

from __future__ import annotations

import argparse
import time

from app.core.templates import TEMPLATES
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import RunFinished
from app.training.trainer import Trainer

CHANCE = 0.1  # ten classes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", nargs="+", default=["alexnet", "vgg11", "vgg16"])
    parser.add_argument("--epochs", type=int, help="instead of the template's count")
    args = parser.parse_args()
    for template_id in args.templates:
        project = TEMPLATES[template_id].project()
        training = project.training | {"probes": {"enabled": False}}
        if args.epochs:
            training["epochs"] = args.epochs
        config = TrainConfig.from_dict(training)
        started = time.perf_counter()
        result = Trainer(project.network, load_data(project.data), config).run()
        seconds = time.perf_counter() - started
        if not isinstance(result, RunFinished):
            print(f"{template_id}: failed: {result.reason}")
            continue
        acc = result.metrics["val_accuracy"]
        print(f"{template_id:8s} {config.epochs} epochs  val accuracy {acc:.1%} "
              f"({acc / CHANCE:.1f}x chance)  {seconds:.0f} s")


if __name__ == "__main__":
    main()
