"""Generated datasets: linear regression, 2-D classification, sequence tasks.

All generators are seeded (a parameter), so a project reproduces its data.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from app.core.lazy import lazy_module
from app.core.params import Param
from app.core.pysource import call, embed, needs, snippet
from app.data.errors import DataSourceError
from app.data.source_spec import (
    Progress,
    RawData,
    SourceCode,
    SourceSpec,
    samples_param,
    seed_param,
    tensor_data,
)

# scikit-learn and torch take seconds to import; listing and checking sources must not wait.
skd = lazy_module("sklearn.datasets")
torch = lazy_module("torch")

SKD = "from sklearn import datasets as skd"


def _gen(params: dict) -> torch.Generator:
    return torch.Generator().manual_seed(params["seed"])


def linear_data(w: list[float], b: float, noise: float, n_samples: int, seed: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """y = X w + b + noise with X standard normal, from a seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    weights = torch.tensor(w, dtype=torch.float64)
    x = torch.randn(n_samples, len(weights), generator=gen, dtype=torch.float64)
    y = x @ weights + b + noise * torch.randn(n_samples, generator=gen, dtype=torch.float64)
    return x, y


def _linear(params: dict, progress: Progress | None) -> RawData:
    x, y = linear_data(**params)
    return RawData(tensor_data(x, y, "regression"), "regression",
                   feature_names=[f"x{i + 1}" for i in range(len(params["w"]))])


def _embedded_code(function: Callable, task: str) -> Callable[[dict], SourceCode]:
    """Writer for a source whose loader calls `function(**params)` for tensors x, y."""
    def code(params: dict) -> SourceCode:
        helper = embed(function)
        return SourceCode(needs(f"x, y = {call(helper.code, **params)}", [helper]), task)
    return code


def _sklearn(function: str, **names: str) -> tuple[Callable, Callable]:
    """Loader and writer of 2-D points from skd.`function`(n_samples, **renamed params)."""
    def arguments(params: dict) -> dict:
        return {arg: params[key] for arg, key in names.items()}

    def load(params: dict, progress: Progress | None) -> RawData:
        x, y = getattr(skd, function)(params["n_samples"], **arguments(params))
        return _points(x, y, params.get("n_classes", 2))

    def code(params: dict) -> SourceCode:
        lines = [f"x, y = {call(f'skd.{function}', params['n_samples'], **arguments(params))}",
                 "x, y = torch.as_tensor(x), torch.as_tensor(y)"]
        return SourceCode(snippet("\n".join(lines), "import torch", SKD), "classification")
    return load, code


def _points(x, y, n_classes: int) -> RawData:
    return RawData(tensor_data(torch.as_tensor(x), torch.as_tensor(y), "classification"),
                   "classification", [str(c) for c in range(n_classes)], feature_names=["x1", "x2"])


def spirals_data(n_samples: int, noise: float, n_classes: int, turns: float, seed: int
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """cs231n's spirals: each class is an arm; radius grows with t, angle with t plus noise."""
    gen, k, n = torch.Generator().manual_seed(seed), n_classes, n_samples
    y = torch.arange(n) % k
    t = torch.rand(n, generator=gen, dtype=torch.float64)
    angle = y * (2 * math.pi / k) + t * turns * 2 * math.pi
    angle = angle + noise * torch.randn(n, generator=gen, dtype=torch.float64)
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
    return x, y


def _spirals(params: dict, progress: Progress | None) -> RawData:
    return _points(*spirals_data(**params), params["n_classes"])


def _token_labels(seqs: torch.Tensor, params: dict) -> tuple[torch.Tensor, list[str]]:
    rule, vocab = params["rule"], params["vocab_size"]
    if rule == "parity":
        return seqs.sum(1) % 2, ["even", "odd"]
    if rule == "majority":
        counts = torch.nn.functional.one_hot(seqs, vocab).sum(1)
        return counts.argmax(1), [str(t) for t in range(vocab)]
    return (seqs == params["token"]).any(1).long(), ["absent", "present"]


def _tokens(params: dict, progress: Progress | None) -> RawData:
    gen, n, length, vocab = _gen(params), params["n_samples"], params["seq_len"], params["vocab_size"]
    if params["rule"] == "contains" and not 0 <= params["token"] < vocab:
        raise DataSourceError(f"source 'seq_tokens': field 'token' must be < vocab_size "
                              f"({vocab}), got {params['token']}")
    seqs = torch.randint(0, vocab, (n, length), generator=gen)
    if params["rule"] == "contains":
        # Balance the classes: remove k everywhere, then plant it in half the sequences.
        seqs[seqs == params["token"]] = (params["token"] + 1) % vocab
        planted = torch.arange(n) % 2 == 1
        where = torch.randint(0, length, (n,), generator=gen)
        seqs[planted, where[planted]] = params["token"]
    y, names = _token_labels(seqs, params)
    return RawData(tensor_data(seqs, y, "classification"), "classification", names,
                   input_dtype="int64")


def _floats(params: dict, progress: Progress | None) -> RawData:
    gen, n, length = _gen(params), params["n_samples"], params["seq_len"]
    if params["task"] == "sum_sign":
        x = torch.randn(n, length, 1, generator=gen, dtype=torch.float64)
        y = (x.sum((1, 2)) > 0).long()
        return RawData(tensor_data(x, y, "classification"), "classification",
                       ["negative", "positive"])
    # Next value of a sine wave with random phase and frequency: the classic RNN demo.
    phase = 2 * math.pi * torch.rand(n, 1, generator=gen, dtype=torch.float64)
    freq = 0.1 + 0.4 * torch.rand(n, 1, generator=gen, dtype=torch.float64)
    wave = torch.sin(phase + freq * torch.arange(length + 1, dtype=torch.float64))
    wave = wave + params["noise"] * torch.randn(wave.shape, generator=gen, dtype=torch.float64)
    return RawData(tensor_data(wave[:, :-1].unsqueeze(-1), wave[:, -1], "regression"),
                   "regression")


def _noise(default: float) -> Param:
    return Param("noise", "float", default, "standard deviation of the noise", 0.0, 10.0)


def _classes(default: int) -> Param:
    return Param("n_classes", "int", default, "number of classes", 2, 20)


SEQ_LEN = Param("seq_len", "int", 12, "sequence length", 1, 1000)

SPECS = [
    SourceSpec("linear", "Linear regression (synthetic)",
               "y = X w + b + noise, X standard normal (d2l's first example).", "synthetic",
               [Param("w", "floats", [2.0, -3.4], minimum=-1e6, maximum=1e6, scalar_ok=False,
                      help="true weights, one per feature"),
                Param("b", "float", 4.2, "true bias", -1e6, 1e6),
                _noise(0.01), samples_param(1000), seed_param()], _linear,
               _embedded_code(linear_data, "regression")),
    SourceSpec("moons", "Two moons (2-D)", "Two interleaving half circles.", "synthetic",
               [samples_param(400), _noise(0.1), seed_param()],
               *_sklearn("make_moons", noise="noise", random_state="seed")),
    SourceSpec("circles", "Circles (2-D)", "A small circle inside a large one.", "synthetic",
               [samples_param(400), _noise(0.05),
                Param("factor", "float", 0.5, "inner/outer radius ratio", 0.01, 0.99),
                seed_param()],
               *_sklearn("make_circles", noise="noise", factor="factor", random_state="seed")),
    SourceSpec("spirals", "Spirals (2-D)", "Interleaved spiral arms, one per class; not "
               "linearly separable.", "synthetic",
               [samples_param(600), _noise(0.2), _classes(3),
                Param("turns", "float", 0.75, "turns of each arm", 0.1, 5.0),
                seed_param()], _spirals, _embedded_code(spirals_data, "classification")),
    SourceSpec("blobs", "Blobs (2-D)", "Gaussian clusters, one per class.", "synthetic",
               [samples_param(400), _classes(3),
                Param("cluster_std", "float", 1.0, "cluster spread", 0.01, 20.0),
                seed_param()],
               *_sklearn("make_blobs", centers="n_classes", cluster_std="cluster_std",
                         random_state="seed")),
    SourceSpec("seq_tokens", "Token sequences (Embedding + RNN)",
               "Integer token sequences (int64) for Embedding -> RNN/LSTM/GRU. Rules: does the "
               "sequence contain token k, parity of the token sum, most frequent token.",
               "synthetic",
               [Param("rule", "choice", "contains", choices=("contains", "parity", "majority"),
                          help="what the label means"),
                Param("vocab_size", "int", 10, "tokens are 0..vocab_size-1", 2, 10_000),
                SEQ_LEN, Param("token", "int", 3, "k for 'contains'", 0, 9_999),
                samples_param(2000), seed_param()], _tokens),
    SourceSpec("seq_floats", "Float sequences (RNN)",
               "Sequences of shape (seq_len, 1). sum_sign: is the sum positive "
               "(classification); sine_next: predict the next value of a noisy sine "
               "(regression).", "synthetic",
               [Param("task", "choice", "sum_sign", choices=("sum_sign", "sine_next"),
                      help="which task"),
                SEQ_LEN, _noise(0.05), samples_param(2000), seed_param()], _floats),
]
