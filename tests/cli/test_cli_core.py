"""The CLI contract of DESIGN.md: templates, new, check, info."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from torch import nn

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=False)


class LeNet5(nn.Module):
    """Hand-written reference: d2l's LeNet-5 for 28×28 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
            nn.Linear(84, 10))


def test_info_lenet5_json_matches_a_hand_written_lenet() -> None:
    result = run_cli("info", "--template", "lenet5", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    expected = sum(p.numel() for p in LeNet5().parameters())
    assert expected == 61706
    layers = report.pop("layers")
    assert report == {"params": expected, "trainable_params": expected, "macs": 423_038,
                      "input_shape": [1, 28, 28], "output_shape": [10], "nodes": 14,
                      "errors": []}
    assert len(layers) == 14 and sum(row["params"] for row in layers) == expected
    assert layers[1] == {"name": "conv1", "type": "Conv2d", "output_shape": [6, 28, 28],
                         "params": 156, "macs": 6 * 28 * 28 * (25 + 1)}


def test_templates_lists_ids_and_shapes(capsys) -> None:
    assert main(["templates", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    by_id = {r["id"]: r for r in rows}
    assert {"linear_regression", "mlp", "lenet5", "residual_cnn"} <= set(by_id)
    assert by_id["lenet5"]["input_shape"] == [1, 28, 28]
    assert all({"id", "title", "input_shape"} <= set(r) for r in rows)


def test_new_then_check_then_info(tmp_path: Path, capsys) -> None:
    project = tmp_path / "net.json"
    assert main(["new", "--template", "residual_cnn", "-o", str(project)]) == 0
    assert json.loads(project.read_text())["network"]["nodes"][0]["type"] == "Input"
    assert main(["check", str(project)]) == 0
    out = capsys.readouterr().out
    assert "block1_add" in out and "16×12×12" in out and out.rstrip().endswith("valid")
    assert main(["info", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == 41514


def test_check_reports_per_node_errors_and_exits_1(tmp_path: Path, capsys) -> None:
    project = tmp_path / "net.json"
    main(["new", "--template", "lenet5", "-o", str(project)])
    data = json.loads(project.read_text())
    for node in data["network"]["nodes"]:
        if node["name"] == "conv2":
            node["params"]["kernel_size"] = 20
    project.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["check", str(project)]) == 1
    out = capsys.readouterr().out
    assert "error: conv2: the 20×20 kernel is larger than its 14×14 input from pool1" in out
    assert "invalid: 1 error(s)" in out


def test_bad_input_gives_one_line_and_nonzero_status(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "torchcanvas", "version": 1, "network": {"nodes": [')
    cases = [
        (("info", "--template", "nope"), "unknown template 'nope'"),
        (("check", str(tmp_path / "missing.json")), "no such file"),
        (("check", str(broken)), "not valid JSON"),
    ]
    for args, message in cases:
        result = run_cli(*args)
        assert result.returncode == 1, args
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_info_on_a_broken_network_lists_errors(tmp_path: Path, capsys) -> None:
    project = tmp_path / "net.json"
    main(["new", "--template", "mlp", "-o", str(project)])
    data = json.loads(project.read_text())
    data["network"]["edges"] = [e for e in data["network"]["edges"] if e["dst"] != "fc3"]
    project.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["info", str(project), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["params"] is None and report["macs"] is None and report["layers"] == []
    assert report["errors"] == ["fc3 has no input: connect a layer's output to it"]
