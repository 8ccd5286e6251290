"""Seeded noise: row i depends only on its own seed, exactly as api.md specifies; paths between two seeds."""

from __future__ import annotations

import numpy as np

from service.noise import SEED_MAX, draw_seed, interpolate_noise, path_noise, seeded_noise


def test_rows_match_the_documented_formula_and_ignore_their_neighbours() -> None:
    rows = seeded_noise(range(10, 14), 16, truncation=0.5)
    for i, seed in enumerate(range(10, 14)):
        expected = np.random.default_rng(seed).standard_normal(16, dtype=np.float32) * np.float32(0.5)
        assert np.array_equal(rows[i], expected)
    assert np.array_equal(seeded_noise([12], 16, 0.5)[0], rows[2])


def test_drawn_seeds_leave_room_for_every_image() -> None:
    assert all(0 <= draw_seed(256) <= SEED_MAX - 255 for _ in range(1000))


def test_slerp_keeps_the_norm_of_gaussian_noise_and_lerp_does_not() -> None:
    a, b = seeded_noise([1, 2], 512)
    ts = np.linspace(0, 1, 9)
    slerp, lerp = interpolate_noise(a, b, ts, "slerp"), interpolate_noise(a, b, ts, "lerp")
    np.testing.assert_allclose(slerp[[0, -1]], np.stack([a, b]), atol=1e-5)
    np.testing.assert_allclose(lerp[4], (a + b) / 2, atol=1e-6)
    norms = np.linalg.norm(slerp, axis=1)
    np.testing.assert_allclose(norms, np.linspace(np.linalg.norm(a), np.linalg.norm(b), 9), rtol=1e-5)
    assert np.linalg.norm(lerp[4]) < 0.8 * norms[4]  # the chord's middle sinks toward the mean
    np.testing.assert_allclose(interpolate_noise(a, a, ts, "slerp"), np.tile(a, (9, 1)), atol=1e-6)


def test_a_path_starts_and_ends_exactly_on_its_seeds_noise() -> None:
    ts, noise = path_noise((3, 11), steps=5, method="slerp", truncation=0.7, latent_dim=32)
    assert ts.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0] and noise.shape == (5, 32) and noise.dtype == np.float32
    ends = seeded_noise([3, 11], 32, 0.7)
    assert np.array_equal(noise[0], ends[0]) and np.array_equal(noise[-1], ends[1])
