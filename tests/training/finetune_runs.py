"""A small image folder and a one-epoch fine-tune of a project on it, shared by the
fine-tuning tests of the templates and of the torchvision families."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from app.core.project import Project
from app.training import pretrained as pt
from app.training.config import TrainConfig
from app.training.data import load_data
from app.training.events import RunFinished
from app.training.trainer import Trainer


def image_folder(root: Path, size: int = 32, classes: int = 3, per_class: int = 4) -> Path:
    g = torch.Generator().manual_seed(0)
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            pixels = torch.randint(0, 256, (size, size, 3), dtype=torch.uint8, generator=g)
            Image.fromarray(pixels.numpy()).save(root / f"class{c}" / f"{i}.png")
    return root


def finetune_one_epoch(project: Project, weights: Path, images: Path
                       ) -> tuple[Trainer, RunFinished]:
    """Loads `weights`, gives the network a 3-class head, freezes all but it and trains
    one epoch of 3 steps on `images`."""
    project.data = {"source": "image_folder", "params": {"root": str(images)},
                    "split": {"val_fraction": 0.25}}
    doc = project.network
    pt.apply_plan(project, pt.plan_finetune(project, pt.FineTune(
        file=str(weights), num_classes=3, freeze=pt.all_but_head(doc), head_lr=0.05)))
    project.training |= {"epochs": 1, "batch_size": 3, "device": "cpu",
                         "probes": {"enabled": False}}
    trainer = Trainer(doc, load_data(project.data), TrainConfig.from_dict(project.training))
    result = trainer.run()
    assert isinstance(result, RunFinished), getattr(result, "reason", "")
    assert trainer.steps_per_epoch == 3
    return trainer, result
