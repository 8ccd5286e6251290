"""Sanity of each metric on synthetic features and images whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation.embedding import Embedding
from training.evaluation.metrics import METRICS, TITLES, metrics_for
from training.evaluation.metrics.class_histogram import class_histogram
from training.evaluation.metrics.classifier_score import classifier_score
from training.evaluation.metrics.frechet import frechet_distance, frechet_from_stats
from training.evaluation.metrics.kid import kid
from training.evaluation.metrics.l1 import l1
from training.evaluation.metrics.precision_recall import precision_recall
from training.evaluation.metrics.ssim import ssim, ssim_per_image


def emb(
    features: np.ndarray | None = None,
    logits: np.ndarray | None = None,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
) -> Embedding:
    n = len(next(x for x in (features, logits, images) if x is not None))
    return Embedding(
        images=images if images is not None else np.zeros((n, 1, 28, 28), np.float32),
        features=features if features is not None else np.zeros((n, 4)),
        logits=logits if logits is not None else np.zeros((n, 10)),
        labels=labels,
    )


def gauss(n: int, shift: float = 0.0, seed: int = 0, d: int = 16) -> Embedding:
    return emb(np.random.default_rng(seed).standard_normal((n, d)) + shift)


def test_frechet_zero_on_itself_and_grows_with_shift() -> None:
    a = gauss(1000)
    assert frechet_distance(a, a)["frechet_distance"] == pytest.approx(0.0, abs=1e-8)
    shifts = [frechet_distance(gauss(1000, s, seed=1), a)["frechet_distance"] for s in (0.0, 0.25, 0.5, 1.0)]
    assert shifts == sorted(shifts) and shifts[-1] > 10 * shifts[0]
    # a pure mean shift of 1 in each of 16 dims adds ||mu||^2 = 16
    assert shifts[-1] - shifts[0] == pytest.approx(16, rel=0.15)


def test_frechet_matches_closed_form_for_diagonal_covariances() -> None:
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 1.0])
    # tr(S1 + S2 - 2 sqrt(S1 S2)) = (1 + 9 - 2*3) + (4 + 1 - 2*2) = 5; plus ||mu1 - mu2||^2 = 2
    assert frechet_from_stats(np.zeros(2), s1, np.ones(2), s2) == pytest.approx(7.0)


def test_kid_unbiased_near_zero_for_one_distribution_and_positive_for_a_shift() -> None:
    same = [kid(gauss(500, seed=s), gauss(500, seed=100 + s))["kid"] for s in range(5)]
    shifted = kid(gauss(500, 0.5, seed=1), gauss(500, seed=2))["kid"]
    assert abs(np.mean(same)) < 0.1 * shifted
    assert min(same) < 0 < shifted or abs(np.mean(same)) < 1e-3  # unbiased: noise lands on both sides of 0


def test_precision_recall_identical_and_disjoint() -> None:
    a = gauss(500)
    pr = precision_recall(a, a)
    assert pr["precision"] == 1.0 and pr["recall"] == 1.0
    far = precision_recall(gauss(500, 50.0, seed=1), a)
    assert far["precision"] == 0.0 and far["recall"] == 0.0


def test_precision_recall_see_mode_collapse() -> None:
    real = gauss(1000, d=2)
    collapsed = emb(real.features[real.features[:, 0] > 1.0])  # only one side of the real set (~16%)
    pr = precision_recall(collapsed, real)
    assert pr["precision"] > 0.9 and pr["recall"] < 0.4


def test_ssim_identical_is_one_and_falls_with_noise() -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 28, 28))
    assert ssim_per_image(x, x) == pytest.approx(np.ones(4))
    scores = [ssim_per_image(x, np.clip(x + rng.normal(0, s, x.shape), 0, 1)).mean() for s in (0.05, 0.2, 0.5)]
    assert 1 > scores[0] > scores[1] > scores[2]


def test_ssim_agrees_with_a_direct_2d_window() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.uniform(0, 1, (1, 11, 11)), rng.uniform(0, 1, (1, 11, 11))  # one window position only
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    w = np.outer(g, g) / np.outer(g, g).sum()
    mx, my = (w * x[0]).sum(), (w * y[0]).sum()
    vx, vy = (w * x[0] ** 2).sum() - mx**2, (w * y[0] ** 2).sum() - my**2
    cxy = (w * x[0] * y[0]).sum() - mx * my
    c1, c2 = 0.01**2, 0.03**2
    want = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    assert ssim_per_image(x, y)[0] == pytest.approx(want, rel=1e-10)


def test_ssim_and_l1_read_images_on_the_unit_scale() -> None:
    black = np.full((3, 1, 28, 28), -1.0, np.float32)
    grey = np.zeros((3, 1, 28, 28), np.float32)
    assert ssim(emb(images=black), emb(images=black))["ssim"] == pytest.approx(1.0)
    assert l1(emb(images=grey), emb(images=black))["l1"] == pytest.approx(0.5)


def test_classifier_score_bounds() -> None:
    confident = np.eye(10)[np.arange(1000) % 10] * 50  # each image sure of its class, classes balanced
    assert classifier_score(emb(logits=confident), emb(logits=confident))["classifier_score"] == pytest.approx(
        10, rel=1e-3
    )
    one_class = np.eye(10)[np.zeros(1000, int)] * 50
    assert classifier_score(emb(logits=one_class), emb(logits=one_class))["classifier_score"] == pytest.approx(1.0)


def test_class_histogram_shares_and_coverage() -> None:
    labels = np.array([0] * 50 + [1] * 45 + [2] * 5)
    h = class_histogram(emb(logits=np.eye(10)[labels]), emb(logits=np.eye(10)[labels]))
    assert h["class_max_share"] == 0.5 and h["class_min_share"] == 0.0 and h["classes_covered"] == 3
    assert sum(h["class_shares"]) == pytest.approx(1.0)


def test_registry_names_every_figure_and_kind() -> None:
    assert {m.name for m in metrics_for("unconditional")} >= {"frechet_distance", "kid", "precision_recall"}
    assert "conditional_accuracy" in {m.name for m in metrics_for("conditional")}
    assert {"ssim", "l1", "class_kept"} <= {m.name for m in metrics_for("translation")}
    a = emb(
        np.random.default_rng(0).standard_normal((20, 4)), np.eye(10)[np.arange(20) % 10], labels=np.arange(20) % 10
    )
    for metric in METRICS.values():
        for figure in metric.fn(a, a):
            assert figure in TITLES or figure == "class_shares"
