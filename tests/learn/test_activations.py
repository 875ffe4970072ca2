"""The activation explorer's derivatives (autograd) against their closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.core.catalogue import CATALOGUE
from app.learn.activations import ActivationError, activation_types, curve, curve_params

XS = np.linspace(-5.0, 5.0, 201)
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def test_every_catalogue_activation_is_listed_and_plots() -> None:
    types = activation_types()
    assert types == [t for t, s in CATALOGUE.items() if s.category == "Activation"]
    assert {"ReLU", "Sigmoid", "Tanh", "ELU", "SELU", "Softplus", "GELU"} <= set(types)
    for t in types:
        c = curve(t, xs=XS)
        assert c.ys.shape == c.slopes.shape == XS.shape
        assert np.isfinite(c.ys).all() and np.isfinite(c.slopes).all()


def test_sigmoid_derivative_is_s_times_one_minus_s() -> None:
    c = curve("Sigmoid", xs=XS)
    s = sigmoid(XS)
    np.testing.assert_allclose(c.ys, s, rtol=1e-12)
    np.testing.assert_allclose(c.slopes, s * (1 - s), rtol=1e-10, atol=1e-15)


def test_tanh_derivative_is_one_minus_tanh_squared() -> None:
    c = curve("Tanh", xs=XS)
    np.testing.assert_allclose(c.slopes, 1 - np.tanh(XS) ** 2, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("beta", [1.0, 2.5])
def test_softplus_derivative_is_sigmoid_of_beta_x(beta: float) -> None:
    c = curve("Softplus", {"beta": beta}, xs=XS)
    np.testing.assert_allclose(c.ys, np.log1p(np.exp(beta * XS)) / beta, rtol=1e-10)
    np.testing.assert_allclose(c.slopes, sigmoid(beta * XS), rtol=1e-10)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_elu_derivative(alpha: float) -> None:
    xs = XS[XS != 0]
    c = curve("ELU", {"alpha": alpha}, xs=xs)
    np.testing.assert_allclose(c.ys, np.where(xs > 0, xs, alpha * np.expm1(xs)), rtol=1e-12)
    np.testing.assert_allclose(c.slopes, np.where(xs > 0, 1.0, alpha * np.exp(xs)), rtol=1e-12)


def test_selu_derivative() -> None:
    xs = XS[XS != 0]
    c = curve("SELU", xs=xs)
    np.testing.assert_allclose(
        c.slopes, SELU_SCALE * np.where(xs > 0, 1.0, SELU_ALPHA * np.exp(xs)), rtol=1e-12)


def test_leaky_relu_slope_is_live() -> None:
    c = curve("LeakyReLU", {"negative_slope": 0.2}, xs=np.array([-2.0, 3.0]))
    assert c.ys.tolist() == [-0.4, 3.0]
    assert c.slopes.tolist() == [0.2, 1.0]
    assert [p.name for p in curve_params("LeakyReLU")] == ["negative_slope"]


def test_softmax_is_shown_on_two_scores() -> None:
    c = curve("Softmax", xs=XS)
    np.testing.assert_allclose(c.ys, sigmoid(XS), rtol=1e-12)
    log = curve("LogSoftmax", xs=XS)
    np.testing.assert_allclose(log.slopes, 1 - sigmoid(XS), rtol=1e-10)
    assert "two scores" in c.note()
    assert curve_params("Softmax") == ()


def test_the_note_speaks_of_saturation_with_numbers() -> None:
    sig = curve("Sigmoid")
    assert sig.max_slope == pytest.approx(0.25)
    assert "0.25" in sig.note() and f"{0.25 ** 10:.2g}" in sig.note()
    assert 0.1 < sig.flat_fraction < 0.5
    relu = curve("ReLU")
    assert relu.flat_fraction == pytest.approx(0.5, abs=0.01)
    assert "unchanged" in relu.note()


def test_rrelu_is_shown_in_eval_mode_with_the_mean_slope() -> None:
    c = curve("RReLU", {"lower": 0.1, "upper": 0.3}, xs=np.array([-1.0]))
    assert c.slopes[0] == pytest.approx(0.2)
    assert not math.isnan(c.ys[0])


def test_bad_names_and_values_are_one_line_errors() -> None:
    with pytest.raises(ActivationError, match="'Conv2d' is not an activation"):
        curve("Conv2d")
    with pytest.raises(ActivationError, match="ELU has no parameter 'beta'"):
        curve("ELU", {"beta": 2.0})
    with pytest.raises(ActivationError, match="GELU.approximate"):
        curve("GELU", {"approximate": "cubic"})
