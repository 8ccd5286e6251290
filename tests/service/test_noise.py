"""Seeded noise: row i depends only on its own seed, exactly as api.md specifies."""

from __future__ import annotations

import numpy as np

from service.noise import SEED_MAX, draw_seed, seeded_noise


def test_rows_match_the_documented_formula_and_ignore_their_neighbours() -> None:
    rows = seeded_noise(range(10, 14), 16, truncation=0.5)
    for i, seed in enumerate(range(10, 14)):
        expected = np.random.default_rng(seed).standard_normal(16, dtype=np.float32) * np.float32(0.5)
        assert np.array_equal(rows[i], expected)
    assert np.array_equal(seeded_noise([12], 16, 0.5)[0], rows[2])


def test_drawn_seeds_leave_room_for_every_image() -> None:
    assert all(0 <= draw_seed(256) <= SEED_MAX - 255 for _ in range(1000))
