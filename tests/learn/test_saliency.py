"""Grad-CAM against a map computed by hand; gradient maps against closed forms; explain CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from app.learn.saliency import (
    SaliencyError,
    colourise,
    conv_layers,
    explain,
    grad_cam,
    overlay,
    smooth_grad,
    vanilla_gradient,
)

X = np.array([[-1.0, 0.0, 1.0], [2.0, -2.0, 0.5], [1.0, 1.0, -0.5]])
CONV_W = np.array([2.0, -1.0])
CONV_B = np.array([0.5, 0.25])
FC_W = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -2.0]])


def tiny_cnn() -> nn.Module:
    net = nn.Sequential(nn.Conv2d(1, 2, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                        nn.Linear(2, 3, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(CONV_W).view(2, 1, 1, 1))
        net[0].bias.copy_(torch.tensor(CONV_B))
        net[4].weight.copy_(torch.tensor(FC_W))
    return net


def hand_cam(target: int) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM at the conv layer by hand: A_k = w_k·x + b_k; y_c = Σ_k W_ck·mean(ReLU(A_k)),
    so ∂y_c/∂A_k = W_ck/9 where A_k > 0 and α_k is its mean over the 9 pixels."""
    a = CONV_W[:, None, None] * X[None] + CONV_B[:, None, None]
    logits = FC_W @ np.maximum(a, 0).mean(axis=(1, 2))
    alpha = FC_W[target] / 9 * (a > 0).mean(axis=(1, 2))
    cam = np.maximum((alpha[:, None, None] * a).sum(axis=0), 0)
    return cam / cam.max(), logits


@pytest.mark.parametrize("target", [None, 0, 2])
def test_grad_cam_equals_the_hand_computed_map(target: int | None) -> None:
    x = torch.tensor(X, dtype=torch.float32).unsqueeze(0)
    _, logits = hand_cam(0)
    want_target = int(logits.argmax()) if target is None else target
    want, _ = hand_cam(want_target)
    got = grad_cam(tiny_cnn(), x, "0", target)
    assert got.target == want_target and got.layer == "0"
    assert got.heat.shape == (3, 3)
    np.testing.assert_allclose(got.heat, want, atol=1e-6)
    np.testing.assert_allclose(got.probs, np.exp(logits) / np.exp(logits).sum(), rtol=1e-5)


def test_grad_cam_scales_up_to_the_input_and_keeps_the_model_mode() -> None:
    net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(4 * 4 * 4, 5))
    net.train()
    got = grad_cam(net, torch.randn(3, 8, 8))
    assert got.heat.shape == (8, 8) and got.layer == "0"
    assert 0 <= got.heat.min() and (got.heat.max() == 1 or got.heat.max() == 0)
    assert net.training


def test_gradient_maps_of_a_linear_model_are_its_weights() -> None:
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    x = torch.randn(1, 2, 2)
    want = net[1].weight[1].detach().abs().reshape(2, 2).numpy()
    want = want / want.max()
    np.testing.assert_allclose(vanilla_gradient(net, x, 1).heat, want, rtol=1e-6)
    # gradients of a linear model do not depend on the input: noise changes nothing
    np.testing.assert_allclose(smooth_grad(net, x, 1, samples=5).heat, want, rtol=1e-6)


def test_smoothgrad_is_repeatable_and_differs_from_the_plain_gradient() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Tanh(), nn.Flatten(),
                        nn.Linear(3 * 25, 4))
    x = torch.randn(1, 5, 5)
    a, b = smooth_grad(net, x, 2, samples=8), smooth_grad(net, x, 2, samples=8)
    np.testing.assert_array_equal(a.heat, b.heat)
    assert not np.allclose(a.heat, vanilla_gradient(net, x, 2).heat)


def test_bad_requests_are_one_line_errors() -> None:
    with pytest.raises(SaliencyError, match="has none"):
        grad_cam(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), torch.randn(1, 2, 2))
    with pytest.raises(SaliencyError, match="no Conv2d layer '3'"):
        grad_cam(tiny_cnn(), torch.randn(1, 3, 3), "3")
    with pytest.raises(SaliencyError, match="class 7 does not exist"):
        grad_cam(tiny_cnn(), torch.randn(1, 3, 3), target=7)
    with pytest.raises(SaliencyError, match="image input"):
        explain(tiny_cnn(), torch.randn(4))
    assert conv_layers(tiny_cnn()) == ["0"]


def test_overlay_blends_image_and_colours() -> None:
    image = np.full((2, 2, 1), 0.5)
    heat = np.array([[0.0, 1.0], [0.5, 0.25]])
    np.testing.assert_allclose(overlay(image, heat, 0.0), np.full((2, 2, 3), 0.5))
    np.testing.assert_allclose(overlay(image, heat, 1.0), colourise(heat))
    assert colourise(np.array([0.0])).tolist() == [[0.0, 0.0, 0.5]]  # cold: dark blue
    assert colourise(np.array([1.0])).tolist() == [[0.5, 0.0, 0.0]]  # hot: dark red


def test_explain_cli_writes_the_png_of_a_trained_checkpoint(tmp_path, capsys) -> None:
    from PIL import Image

    from app.cli import main
    from app.core.project import Project, save_project
    from app.core.templates import build_template

    project = tmp_path / "cnn.json"
    save_project(Project(build_template("mnist_cnn"), data={"source": "digits"}), project)
    assert main(["train", str(project), "--epochs", "1", "--out", str(tmp_path / "ck")]) == 0
    capsys.readouterr()
    png = tmp_path / "cam.png"
    args = ["explain", str(project), "--checkpoint", str(tmp_path / "ck" / "last.pt"),
            "--sample", "3", "-o", str(png)]
    assert main(args) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"wrote {png} (Grad-CAM for class ") and "layer conv2" in line
    image = np.asarray(Image.open(png))
    assert image.shape == (28 * 8, 2 * 28 * 8 + 8, 3)  # input | overlay, 8× up, 8 px gap
    left, right = image[:, :224], image[:, 232:]
    assert np.array_equal(left[..., 0], left[..., 1])  # the digit itself is grey
    assert left.max() == 255 and left.min() == 0
    assert not np.array_equal(right[..., 0], right[..., 2])  # the overlay is coloured
    assert main([*args[:-2], "--layer", "fc", "-o", str(png)]) == 1
    assert "--layer fc: not a Conv2d layer (choose from conv1, conv2)" in capsys.readouterr().err
    assert main([*args[:4], "--sample", "99999", "-o", str(png)]) == 1
    assert "--sample 99999" in capsys.readouterr().err
    assert main([*args[:-2], "--class", "12", "-o", str(png)]) == 1
    assert "class 12 does not exist" in capsys.readouterr().err
