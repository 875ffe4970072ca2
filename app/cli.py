"""Command-line interface: `python -m app <command>` (see DESIGN.md, "CLI contract").

Every command exits non-zero with one readable line on bad input, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from app.core.catalogue import Role
from app.core.graph import DocumentError, NetworkDocument
from app.core.project import Project, ProjectError, load_project, save_project
from app.core.templates import TEMPLATES, build_template, get_template


class CliError(Exception):
    """A user-facing failure: printed as one line, exit status 1 (2 for usage)."""


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def _template(template_id: str) -> NetworkDocument:
    try:
        return build_template(template_id)
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None


def _document(args: argparse.Namespace) -> tuple[NetworkDocument, list[str], list[str]]:
    """The network to report on, the problems of the file's data and training sections,
    and its frozen layers and blocks (training.freeze, when the sections are valid)."""
    if getattr(args, "template", None):
        return _template(args.template), [], []
    if not getattr(args, "file", None):
        raise CliError("give a project FILE or --template ID")
    project = load_project(args.file)
    problems = _section_problems(project)
    return project.network, problems, [] if problems else project.training.get("freeze", [])


def _section_problems(project: Project) -> list[str]:
    """Data and training sections, checked only when present: an empty section needs
    neither torch nor the data sources."""
    if not project.data and not project.training:
        return []
    from app.training.sections import section_problems

    return section_problems(project)


def _checked_sections(project: Project) -> None:
    """The one validation of the data and training sections, before anything is written."""
    problems = _section_problems(project)
    if problems:
        raise CliError(problems[0])


def cmd_templates(args: argparse.Namespace) -> int:
    rows = [{"id": t.id, "title": t.title, "input_shape": t.input_shape(),
             "description": t.description} for t in TEMPLATES.values()]
    if args.json:
        _print_json(rows)
    else:
        width = max(len(r["id"]) for r in rows)
        for r in rows:
            shape = "×".join(map(str, r["input_shape"]))
            print(f"{r['id']:<{width}}  {r['title']}  (input {shape})")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    try:
        project = get_template(args.template).project()
    except KeyError as exc:
        raise CliError(str(exc.args[0])) from None
    save_project(project, args.output)
    print(f"wrote {args.output} ({project.name}, {len(project.network.nodes)} nodes)")
    return 0


def network_report(doc: NetworkDocument, frozen: list[str] | None = None) -> dict[str, Any]:
    """The facts `info` prints: parameter counts (the `frozen` layers and blocks of
    training.freeze not trainable), MACs per sample, shapes, node count, errors and a
    per-layer table. Counts come from formulas (app.core.param_count, app.core.cost), so
    `info` never imports torch."""
    from app.core.cost import layer_table
    from app.core.param_count import layer_parameters
    from app.core.shapes import errors, infer_shapes, network_problems
    from app.training.pretrained import frozen_layers

    results = infer_shapes(doc)
    problems = errors(network_problems(doc, results))
    inputs = [list(doc.node(n).params["shape"]) for n in doc.ends(Role.INPUT)]
    outputs = [list(results[n].shape) for n in doc.ends(Role.OUTPUT)
               if results[n].shape is not None]
    counts = {} if problems else layer_parameters(doc, results)
    still = frozen_layers(doc, frozen or [])
    count = None if problems else sum(counts.values())
    trainable = None if problems else sum(n for k, n in counts.items() if k not in still)
    layers = [] if problems else layer_table(doc, results)
    return {
        "params": count, "trainable_params": trainable,
        "macs": None if problems else sum(row.macs for row in layers),
        "input_shape": inputs[0] if len(inputs) == 1 else inputs,
        "output_shape": outputs[0] if len(outputs) == 1 else outputs,
        "nodes": len(doc.nodes), "errors": [p.message for p in problems],
        "layers": [row.as_json() for row in layers],
    }


def _print_layers(layers: list[dict[str, Any]]) -> None:
    from app.core.shapes import format_shape

    width = max(len(row["name"]) for row in layers)
    print(f"\n{'layer':<{width}}  {'type':<18} {'output':>14} {'params':>12} {'MACs':>15}")
    for row in layers:
        print(f"{row['name']:<{width}}  {row['type']:<18} "
              f"{format_shape(tuple(row['output_shape'])):>14} {row['params']:>12,} "
              f"{row['macs']:>15,}")


def cmd_info(args: argparse.Namespace) -> int:
    doc, section_errors, frozen = _document(args)
    report = network_report(doc, frozen)
    report["errors"] += section_errors
    if args.json:
        _print_json(report)
    else:
        for key, value in report.items():
            if key not in ("errors", "layers"):
                print(f"{key:>17}: {value:,}" if isinstance(value, int) else
                      f"{key:>17}: {value}")
        if report["layers"]:
            _print_layers(report["layers"])
        for message in report["errors"]:
            print(f"error: {message}")
    return 1 if report["errors"] else 0


def cmd_check(args: argparse.Namespace) -> int:
    from app.core.shapes import format_shape, infer_shapes, network_problems

    project = load_project(args.file)
    doc = project.network
    results = infer_shapes(doc)
    problems = network_problems(doc, results)
    for name in doc.topological_order():
        r = results[name]
        status = format_shape(r.shape) if r.ok and r.shape is not None else (
            "waiting for input" if r.blocked else "ERROR")
        print(f"{name:<20} {doc.node(name).type:<18} {status}")
    for p in problems:
        print(f"{p.severity}: {p.message}")
    section_errors = _section_problems(project)
    for message in section_errors:
        print(f"error: {message}")
    n_errors = sum(p.severity == "error" for p in problems) + len(section_errors)
    print("valid" if not n_errors else f"invalid: {n_errors} error(s)")
    return 1 if n_errors else 0


def cmd_train(args: argparse.Namespace) -> int:
    from app.training.command import run_train_command
    from app.training.errors import ConfigError, TrainingError

    try:
        return run_train_command(args)
    except (ConfigError, TrainingError) as exc:
        raise CliError(str(exc)) from None


def cmd_finetune(args: argparse.Namespace) -> int:
    from app.training.errors import ConfigError
    from app.training.finetune_command import run_finetune_command

    try:
        return run_finetune_command(args)
    except ConfigError as exc:
        raise CliError(str(exc)) from None


def cmd_explain(args: argparse.Namespace) -> int:
    from app.learn.explain_command import ExplainError, run_explain_command

    try:
        return run_explain_command(args)
    except ExplainError as exc:
        raise CliError(str(exc)) from None


def _parse_options(pairs: list[str]) -> dict[str, Any]:
    """--option num_classes=10 --option input_size=32 -> {"num_classes": 10, ...}."""
    options: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--option takes KEY=VALUE (got {pair!r})")
        try:
            options[key] = json.loads(text)
        except json.JSONDecodeError:
            options[key] = text
    return options


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.core.codegen import CodegenError, generate_code
    from app.core.compiler import CompileError
    from app.core.fileio import write_all_atomic

    if args.template:
        try:
            doc = build_template(args.template, **_parse_options(args.option))
        except (KeyError, TypeError) as exc:
            raise CliError(str(exc.args[0] if exc.args else exc)) from None
        title = TEMPLATES[args.template].title
        project = get_template(args.template).project() if args.train_script else None
    elif args.file:
        project = load_project(args.file)
        _checked_sections(project)
        doc, title = project.network, project.name
    else:
        raise CliError("give a project FILE or --template ID")
    if not args.output and not args.onnx:
        raise CliError("give -o model.py and/or --onnx model.onnx")
    if args.train_script and not args.output:
        raise CliError("--train-script imports the model file: give -o model.py too")
    if not args.output:
        _export_onnx(doc, args.onnx)
        return 0
    try:
        code = generate_code(doc, title)
    except (CompileError, CodegenError) as exc:
        raise CliError(f"cannot export: {exc}") from None
    script = None
    if args.train_script:
        from app.training.script import ScriptError, generate_train_script

        model_path, script_path = Path(args.output), Path(args.train_script)
        if model_path.resolve().parent != script_path.resolve().parent:
            raise CliError("--train-script: write the script next to the model file "
                           "(it imports it)")
        try:
            script = generate_train_script(project, model_path.stem)
        except ScriptError as exc:
            raise CliError(f"cannot write the train script: {exc}") from None
    files = {Path(args.output): code.encode("utf-8")}
    if script is not None:
        files[Path(args.train_script)] = script.encode("utf-8")
    write_all_atomic(files)  # the script imports the model file: both or neither
    print(f"wrote {args.output} ({len(code.splitlines())} lines)")
    if script is not None:
        print(f"wrote {args.train_script} ({len(script.splitlines())} lines)")
    if args.onnx:
        _export_onnx(doc, args.onnx)
    return 0


def _export_onnx(doc: NetworkDocument, path: str) -> None:
    from app.core.compiler import CompileError
    from app.core.onnx_export import OnnxExportError, export_onnx

    try:
        export_onnx(doc, path)
    except (CompileError, OnnxExportError) as exc:
        raise CliError(str(exc) if isinstance(exc, OnnxExportError)
                       else f"cannot export: {exc}") from None
    print(f"wrote {path} (ONNX, freshly initialised weights)")


def _shape_arg(text: str | None) -> list[tuple[int, ...]] | None:
    """--input-shape 3,32,32 (one input) or 4;4 (two inputs)."""
    if not text:
        return None
    try:
        return [tuple(int(d) for d in part.split(",")) for part in text.split(";")]
    except ValueError:
        raise CliError(f"--input-shape takes numbers like 3,32,32 (got {text!r})") from None


def cmd_import(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.core.fileio import write_atomic
    from app.core.grouping import opening_canvas
    from app.core.importer import ModelImportError, import_file, import_torchvision

    shapes = _shape_arg(args.input_shape)
    try:
        if args.torchvision:
            if shapes and len(shapes) != 1:
                raise CliError("a torchvision model takes one input shape")
            result = import_torchvision(args.torchvision, *(shapes or []))
        elif args.source:
            path, _, class_name = args.source.partition(":")
            result = import_file(path, class_name or None, shapes)
        else:
            raise CliError("give --torchvision NAME or FILE.py[:Class]")
    except ModelImportError as exc:
        raise CliError(str(exc)) from None
    save_project(Project(result.doc, name=result.title, canvas=opening_canvas(result.doc)),
                 args.output)
    if args.key_map:
        write_atomic(Path(args.key_map), (json.dumps(result.key_map, indent=2) + "\n").encode())
    print(f"wrote {args.output} ({len(result.doc.nodes)} nodes)")
    if result.unmapped:
        print(f"note: {len(result.unmapped)} weights are not used by forward(): "
              f"{', '.join(result.unmapped[:5])}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from app.ui.diagram import DiagramError, render_project_file

    try:
        path = render_project_file(args.file, args.output, args.theme)
    except DiagramError as exc:
        raise CliError(str(exc)) from None
    print(f"wrote {path}")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from app.ui.launch import launch

    return launch(args)


Command = Callable[[argparse.Namespace], int]


def _size(text: str) -> tuple[int, int]:
    from app.ui.launch import parse_size

    return parse_size(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number, at least 1")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description="TorchCanvas: build, "
                                     "train and export PyTorch networks visually.")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("gui", help="open the editor (the default)")
    p.add_argument("file", nargs="?", help="project file to open")
    p.add_argument("--template", help="start from a built-in template")
    p.add_argument("--screenshot", metavar="PNG", help="render the window to PNG and exit")
    p.add_argument("--size", metavar="WxH", type=_size,
                   help="window size, e.g. 1366x768")
    p.add_argument("--mode", choices=("design", "data", "train", "evaluate"),
                   help="the mode to open in (design, data, train, evaluate)")
    p.add_argument("--theme", choices=("light", "dark"), help="colour theme")
    p.add_argument("--train", action="store_true",
                   help="start training at once (as F5; it waits for the training tools); "
                   "with --screenshot, the picture is taken when the run ends (at most "
                   "about a minute)")
    p.add_argument("--epochs", type=_positive, metavar="N",
                   help="with --train: train for N epochs instead of the project's count")
    p.set_defaults(func=cmd_gui)

    p = sub.add_parser("templates", help="list built-in templates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_templates)

    p = sub.add_parser("new", help="write a project file from a template")
    p.add_argument("--template", required=True)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_new)

    p = sub.add_parser("check", help="validate a project; exit 1 if invalid")
    p.add_argument("file")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("info", help="parameter counts and shapes")
    p.add_argument("file", nargs="?")
    p.add_argument("--template")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a project headless; progress on stderr")
    p.add_argument("file", help="project file")
    p.add_argument("--epochs", type=int, help="override the project's epoch count")
    p.add_argument("--device", metavar="DEVICE",
                   help="auto (the default), cpu, cuda, cuda:N or mps")
    p.add_argument("--out", metavar="DIR", help="write last.pt / best.pt checkpoints here")
    p.add_argument("--json", action="store_true", help="final metrics as JSON on stdout")
    p.add_argument("--resume", metavar="CKPT", help="continue from a checkpoint")
    p.add_argument("--tensorboard", metavar="DIR", help="also write TensorBoard events")
    p.set_defaults(func=cmd_train)
    p = sub.add_parser("finetune", help="set a project up to fine-tune pretrained weights")
    p.add_argument("file", nargs="?", help="project file (a torchvision model or template)")
    p.add_argument("--template", help="start from a built-in template, e.g. resnet18")
    p.add_argument("--weights", metavar="NAME", help="torchvision's published weights: "
                   "DEFAULT, IMAGENET1K_V1 or ResNet18_Weights.IMAGENET1K_V1")
    p.add_argument("--weights-file", metavar="PTH", help="a local state_dict (.pth/.pt)")
    p.add_argument("--download", action="store_true", help="download the published weights "
                   "now into torch.hub's cache (needs internet)")
    p.add_argument("--data", metavar="FOLDER", help="image folder, one sub-folder per class")
    p.add_argument("--classes", type=_positive, metavar="N",
                   help="new classifier head for N classes (default: the --data classes)")
    p.add_argument("--freeze", metavar="BLOCKS", help="'all' (all but the head) or blocks "
                   "and layers, e.g. conv1,bn1,layer1")
    p.add_argument("--head-lr", type=float, metavar="LR", help="the head's learning rate")
    p.add_argument("--preprocess", metavar="NAME",
                   help="published weights whose resize/normalize the data pipeline takes "
                        "(default: those of --weights, or the model's default weights)")
    p.add_argument("--no-preprocess", action="store_true",
                   help="leave the data pipeline and the Input size as they are")
    p.add_argument("-o", "--output", required=True, help="the project file to write")
    p.set_defaults(func=cmd_finetune)
    p = sub.add_parser("explain", help="saliency map (Grad-CAM) of a trained classifier")
    p.add_argument("file", help="project file")
    p.add_argument("--checkpoint", required=True, metavar="CKPT",
                   help="weights from train --out (last.pt or best.pt)")
    p.add_argument("--sample", type=int, default=0, metavar="N", help="validation sample")
    p.add_argument("--method", choices=("gradcam", "gradient", "smoothgrad"),
                   default="gradcam")
    p.add_argument("--layer", help="Grad-CAM's Conv2d layer (node name; default the last)")
    p.add_argument("--class", dest="target", type=int, metavar="C",
                   help="class to explain (default: the predicted one)")
    p.add_argument("--opacity", type=float, default=0.5, help="map over image, 0..1")
    p.add_argument("-o", "--output", required=True, metavar="PNG")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("export", help="write a standalone PyTorch .py file")
    p.add_argument("file", nargs="?", help="project file")
    p.add_argument("--template", help="export a built-in template instead")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="template option, e.g. num_classes=10 (repeatable)")
    p.add_argument("-o", "--output", help="the .py file to write")
    p.add_argument("--onnx", metavar="PATH", help="also (or only) write the network as ONNX")
    p.add_argument("--train-script", metavar="PATH",
                   help="also write a training script (single process or torchrun)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("render", help="draw the network as an SVG or PNG picture")
    p.add_argument("file", help="project file")
    p.add_argument("-o", "--output", required=True, help="net.svg or net.png")
    p.add_argument("--theme", choices=("light", "dark"), default="light")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("import", help="turn a PyTorch model into a project")
    p.add_argument("source", nargs="?", help="FILE.py or FILE.py:Class")
    p.add_argument("--torchvision", metavar="NAME", help="a torchvision model (weights=None)")
    p.add_argument("--input-shape", help="per-sample shape, e.g. 3,224,224 (';' between inputs)")
    p.add_argument("--key-map", metavar="JSON", help="also write the state_dict key mapping")
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=cmd_import)
    parser.set_defaults(command_names=tuple(sub.choices))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    commands = parser.get_default("command_names")
    if not argv or argv[0] not in commands and argv[0] not in ("-h", "--help"):
        argv.insert(0, "gui")
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (CliError, ProjectError, DocumentError, OSError) as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 -- the contract: one line, never a traceback
        print(f"error: internal error ({type(exc).__name__}: {_one_line(exc)}); please "
              f"report it", file=sys.stderr)
        return 1


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
