import pytest
import torch
import torch.nn.functional as F

from app.training.errors import TrainingError
from app.training.losses import LOSSES, LossConfig, build_loss

LOGITS = torch.tensor([[1.0, 2.0], [1.0, 3.0], [1.0, 3.0]])
CLASSES = torch.tensor([0, 1, 1])


def test_cross_entropy_hand_checked_numbers() -> None:
    per_sample = build_loss(LossConfig("CrossEntropy", {"reduction": "none"})).module(
        LOGITS, CLASSES)
    assert per_sample.tolist() == pytest.approx([1.3133, 0.1269, 0.1269], abs=1e-4)
    mean = build_loss(LossConfig("CrossEntropy"))(LOGITS, CLASSES)
    assert float(mean) == pytest.approx(0.5224, abs=1e-4)
    weighted = build_loss(LossConfig("CrossEntropy", {"weight": [1.0, 2.0]}))(LOGITS, CLASSES)
    # weighted mean: (1*1.3133 + 2*0.1269 + 2*0.1269) / (1 + 2 + 2)
    assert float(weighted) == pytest.approx(0.3642, abs=1e-4)
    assert float(weighted) == pytest.approx(float(F.cross_entropy(
        LOGITS, CLASSES, weight=torch.tensor([1.0, 2.0]))), abs=1e-7)


def _inputs() -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """name -> (network output, dataset target, torch functional's expected value)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g)
    prob = torch.sigmoid(x)
    hot = (torch.rand(4, 3, generator=g) > 0.5).float()
    value = torch.randn(4, 3, generator=g)
    dist = torch.softmax(torch.randn(4, 3, generator=g), 1)
    y = torch.tensor([0, 2, 1, 2])
    signs = torch.tensor([1, -1, 1, -1])
    pair = torch.randn(4, 2, 5, generator=g)
    triplet = torch.randn(4, 3, 5, generator=g)
    ranks = torch.randn(4, 2, generator=g)
    multilabel = torch.tensor([[0, 2, -1], [1, -1, -1], [2, 1, 0], [0, -1, -1]])
    seq = torch.randn(2, 6, 4, generator=g)
    labels = torch.tensor([[1, 2, 0], [3, 3, 1]])
    log_probs = seq.log_softmax(-1).transpose(0, 1)
    return {
        "CrossEntropy": (x, y, F.cross_entropy(x, y)),
        "NLL": (x.log_softmax(1), y, F.nll_loss(x.log_softmax(1), y)),
        "BCE": (prob, hot, F.binary_cross_entropy(prob, hot)),
        "BCEWithLogits": (x, hot, F.binary_cross_entropy_with_logits(x, hot)),
        "L1": (x, value, F.l1_loss(x, value)),
        "MSE": (x, value, F.mse_loss(x, value)),
        "SmoothL1": (x, value, F.smooth_l1_loss(x, value)),
        "Huber": (x, value, F.huber_loss(x, value)),
        "PoissonNLL": (x, value.abs(), F.poisson_nll_loss(x, value.abs())),
        "KLDiv": (x.log_softmax(1), dist, F.kl_div(x.log_softmax(1), dist,
                                                     reduction="batchmean")),
        "MarginRanking": (ranks, signs, F.margin_ranking_loss(ranks[:, 0], ranks[:, 1],
                                                              signs.float())),
        "MultiLabelMargin": (x, multilabel, F.multilabel_margin_loss(x, multilabel)),
        "SoftMargin": (x[:, :1], signs.unsqueeze(1), F.soft_margin_loss(
            x[:, :1], signs.unsqueeze(1).float())),
        "MultiLabelSoftMargin": (x, hot, F.multilabel_soft_margin_loss(x, hot)),
        "MultiMargin": (x, y, F.multi_margin_loss(x, y)),
        "TripletMargin": (triplet, y, F.triplet_margin_loss(triplet[:, 0], triplet[:, 1],
                                                           triplet[:, 2])),
        "HingeEmbedding": (x[:, :1].abs(), signs.unsqueeze(1), F.hinge_embedding_loss(
            x[:, :1].abs(), signs.unsqueeze(1).float())),
        "CosineEmbedding": (pair, signs, F.cosine_embedding_loss(pair[:, 0], pair[:, 1],
                                                                 signs.float())),
        "CTC": (seq, labels, F.ctc_loss(log_probs, labels, torch.tensor([6, 6]),
                                        torch.tensor([2, 3]))),
    }


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_matches_torch_functional(name: str) -> None:
    output, target, expected = _inputs()[name]
    criterion = build_loss(LossConfig(name))
    criterion.check(output, target)
    assert float(criterion(output, target)) == pytest.approx(float(expected), rel=1e-6)


def test_every_loss_is_covered() -> None:
    assert set(_inputs()) == set(LOSSES)


def test_zero_one_labels_become_signs_for_hinge_losses() -> None:
    x = torch.tensor([[0.3], [1.5]])
    got = build_loss(LossConfig("SoftMargin"))(x, torch.tensor([[1], [0]]))
    assert float(got) == pytest.approx(float(F.soft_margin_loss(x, torch.tensor(
        [[1.0], [-1.0]]))))


def test_binary_labels_fit_bce_with_logits_on_one_output() -> None:
    out, labels = torch.tensor([[0.2], [-1.0]]), torch.tensor([1, 0])
    criterion = build_loss(LossConfig("BCEWithLogits", {"pos_weight": [2.0]}))
    criterion.check(out, labels)
    expected = F.binary_cross_entropy_with_logits(out, torch.tensor([[1.0], [0.0]]),
                                                  pos_weight=torch.tensor([2.0]))
    assert float(criterion(out, labels)) == pytest.approx(float(expected))


def test_mse_on_class_indices_suggests_cross_entropy() -> None:
    with pytest.raises(TrainingError, match=r"MSE .*class indices .*10 classes; use "
                                            r"CrossEntropy"):
        build_loss(LossConfig("MSE")).check(torch.randn(4, 10), torch.tensor([1, 2, 3, 4]))


def test_cross_entropy_on_regression_targets_says_so() -> None:
    with pytest.raises(TrainingError, match="needs class indices .*float targets.*MSE"):
        build_loss(LossConfig("CrossEntropy")).check(torch.randn(4, 1), torch.randn(4, 1))


def test_class_index_beyond_the_outputs_is_named() -> None:
    with pytest.raises(TrainingError, match="3 class scores .*up to class 7"):
        build_loss(LossConfig("CrossEntropy")).check(torch.randn(2, 3), torch.tensor([0, 7]))


def test_bce_needs_probabilities() -> None:
    with pytest.raises(TrainingError, match="Sigmoid.*BCEWithLogits"):
        build_loss(LossConfig("BCE")).check(torch.tensor([[2.0]]), torch.tensor([1]))
