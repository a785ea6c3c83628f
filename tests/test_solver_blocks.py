"""solver.solve cuts a large batch into cache-sized blocks (solver.BLOCK_SIZE), one after another
or in threads: every problem's answer must be the one it gets in a single batch, and the early
stop (``give_up``) must count the problems still moving over the whole batch, not per block."""

from __future__ import annotations

import numpy as np
import pytest

from scalecore import solver
from scalecore.bootstrap import resample_weights
from scalecore.fitting import fit_problem, prepare
from tests.synth import synthetic_runs


@pytest.fixture(scope="module")
def offset():
    """The offset power law on 30 runs, 90 resamples, all starting from the full-data optimum."""
    runs = synthetic_runs("offset_power_law", seed=2, noise=0.01, n_points=30)
    p = prepare(runs, "offset_power_law", x="params")
    f = fit_problem(p)
    W, _ = resample_weights(p, 90, "cases", np.random.default_rng(1))
    z0 = np.repeat(p.family.to_internal(f.theta)[None], 90, axis=0)
    return p, W, z0


def _one_batch(p, W, z0, **options):
    return solver._solve(p.family, p.inputs, p.target, W, z0, loss=p.loss, delta=p.delta, **options)


@pytest.mark.parametrize("workers", [1, 3])
def test_blocks_give_every_problem_its_answer_of_one_batch(offset, monkeypatch, workers):
    p, W, z0 = offset
    whole = _one_batch(p, W, z0)
    monkeypatch.setattr(solver, "BLOCK_SIZE", 7 * p.n)  # 13 blocks of 6-7 problems
    monkeypatch.setattr(solver, "PARALLEL_MIN_SIZE", 1)
    monkeypatch.setattr(solver, "_workers", lambda: workers)
    blocks = solver.solve(p.family, p.inputs, p.target, W, z0, loss=p.loss, delta=p.delta)
    for field in ("z", "objective", "converged", "n_iter"):
        np.testing.assert_array_equal(getattr(blocks, field), getattr(whole, field), err_msg=field)


@pytest.mark.parametrize("workers", [1, 2])
def test_the_early_stop_counts_the_whole_batch(offset, monkeypatch, workers):
    """Blocks of 15: after 10 iterations some blocks have more of their problems still moving than
    the share, the batch has fewer, so the batch goes on, as one batch does; with a share below the
    batch's, both stop, with the batch's count."""
    p, W, z0 = offset
    k = 10
    moving = ~_one_batch(p, W, z0, max_iter=k).converged
    per_block = [moving[a:a + 15].mean() for a in range(0, 90, 15)]
    share = (moving.sum() + 2) / 90  # just above the batch's share
    assert max(per_block) > share  # the premise: a block alone would stop
    monkeypatch.setattr(solver, "BLOCK_SIZE", 15 * p.n)
    monkeypatch.setattr(solver, "PARALLEL_MIN_SIZE", 1)
    monkeypatch.setattr(solver, "_workers", lambda: workers)

    whole = _one_batch(p, W, z0, give_up=((k, share),))
    blocks = solver.solve(p.family, p.inputs, p.target, W, z0, loss=p.loss, delta=p.delta, give_up=((k, share),))
    np.testing.assert_array_equal(blocks.z, whole.z)

    share = (moving.sum() - 2) / 90  # just below: both stop, with the batch's count
    with pytest.raises(solver.NotSettling) as one:
        _one_batch(p, W, z0, give_up=((k, share),))
    with pytest.raises(solver.NotSettling) as many:
        solver.solve(p.family, p.inputs, p.target, W, z0, loss=p.loss, delta=p.delta, give_up=((k, share),))
    assert (one.value.active, one.value.total, one.value.iteration) == (moving.sum(), 90, k)
    assert (many.value.active, many.value.total, many.value.iteration) == (moving.sum(), 90, k)
    np.testing.assert_array_equal(many.value.moving, one.value.moving)
    np.testing.assert_array_equal(many.value.z, one.value.z)
