"""`python -m app finetune ...`: set a project up to fine-tune pretrained weights.

Writes a project file whose training starts from the weights (torchvision's published
ones or a local state_dict), with a new classifier head, frozen blocks, the head's own
learning rate and the weights' preprocessing as the data pipeline; `train` then runs it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from app.training import pretrained as pt
from app.training.errors import ConfigError


def _project(args: Any) -> Any:
    from app.core.project import load_project
    from app.core.templates import get_template

    if args.template:
        try:
            return get_template(args.template).project()
        except KeyError as exc:
            raise ConfigError(str(exc.args[0])) from None
    if not args.file:
        raise ConfigError("give a project FILE or --template ID")
    return load_project(args.file)


def _published(project: Any, name: str | None) -> str | None:
    """--weights DEFAULT / IMAGENET1K_V1 / ResNet18_Weights.IMAGENET1K_V1 -> the full name."""
    if not name:
        return None
    if "." in name:
        return name
    arch = pt.architecture_of(project.name)
    if arch is None:
        raise ConfigError(f"--weights {name}: this project is no torchvision model by name; "
                          f"give the full name, e.g. ResNet18_Weights.{name}")
    names = pt.published_weights(arch)
    if name == "DEFAULT":
        return names[0]
    full = f"{names[0].split('.')[0]}.{name}"
    if full not in names:
        raise ConfigError(f"--weights {name}: {arch} has {', '.join(names)}")
    return full


def _preprocess(project: Any, args: Any, published: str | None) -> str | None:
    if args.no_preprocess:
        return None
    if args.preprocess:
        return _published(project, args.preprocess)
    if published:
        return published
    arch = pt.architecture_of(project.name)
    return pt.published_weights(arch)[0] if arch else None


def _classes(folder: str) -> int:
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ConfigError(f"--data: folder not found: {root}")
    classes = [d for d in root.iterdir() if d.is_dir()]
    if not classes:
        raise ConfigError(f"--data: {root} has no class sub-folders (one per class)")
    return len(classes)


def _freeze(doc: Any, text: str | None) -> list[str]:
    if not text:
        return []
    if text == "all":
        return pt.all_but_head(doc)
    return [part.strip() for part in text.split(",") if part.strip()]


def _download(name: str) -> None:
    last = [-1]

    def progress(done: int, total: int) -> bool:
        percent = done * 100 // total if total else -1
        if percent != last[0] and sys.stderr.isatty():
            last[0] = percent
            sys.stderr.write(f"\rdownloading {name}: {done / 2**20:.1f} MiB"
                             + (f" ({percent}%)" if total else ""))
        return True
    path = pt.download(name, progress)
    if last[0] != -1:
        sys.stderr.write("\n")
    print(f"weights: {path}")


def _check_fit(project: Any, section: dict[str, Any]) -> str:
    """Load the weights into the planned network now, so a file that does not fit is
    found before any training. Returns what was loaded."""
    from app.core.compiler import compile_document

    network = project.network
    count = pt.load_weights(network, compile_document(network), section)
    return f"{count} tensors from {pt.weights_file(section)}"


def run_finetune_command(args: Any) -> int:
    """Returns the exit status; raises ConfigError / ProjectError for bad input."""
    from app.core.project import save_project

    project = _project(args)
    published = _published(project, args.weights)
    if bool(published) == bool(args.weights_file):
        raise ConfigError("give --weights NAME (torchvision's published weights) or "
                          "--weights-file PATH (a local state_dict)")
    if args.weights_file and not Path(args.weights_file).expanduser().is_file():
        raise ConfigError(f"--weights-file: no such file: {args.weights_file}")
    if args.data:
        project.data = {**project.data, "source": "image_folder",
                        "params": {"root": str(Path(args.data).expanduser().resolve())}}
    classes = args.classes if args.classes is not None else (
        _classes(args.data) if args.data else None)
    choice = pt.FineTune(published=published,
                         file=str(Path(args.weights_file).expanduser().resolve())
                         if args.weights_file else None,
                         num_classes=classes, freeze=_freeze(project.network, args.freeze),
                         head_lr=args.head_lr, preprocess=_preprocess(project, args, published))
    plan = pt.plan_finetune(project, choice)
    pt.apply_plan(project, plan)
    if published and args.download:
        _download(published)
    section = project.training["pretrained"]
    if published and not pt.cache_path(published).is_file():
        note = (f"{published} is not downloaded yet: run again with --download (needs "
                f"internet) before training")
    else:
        note = _check_fit(project, section)
    from app.training.sections import check_sections

    check_sections(project)
    save_project(project, args.output)
    print(f"wrote {args.output}")
    print(f"  weights: {pt.source_name(section)} ({note})")
    classes = choice.num_classes
    print(f"  head: {plan.head}" + (f" -> {classes} classes, freshly initialised" if classes else
                                    " kept"))
    print(f"  frozen: {', '.join(choice.freeze) or 'nothing'}")
    if choice.head_lr is not None:
        print(f"  head learning rate: {choice.head_lr}")
    if choice.preprocess:
        prep = pt.preprocessing(choice.preprocess)
        print(f"  data: Resize {prep.resize}, CenterCrop {prep.crop}, Normalize mean "
              f"{prep.mean} std {prep.std} (from {choice.preprocess}); input "
              f"{'×'.join(map(str, prep.input_shape()))}"
              + (f"\n        ({prep.note})" if prep.note else ""))
    return 0
