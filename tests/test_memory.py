"""Memory of long inputs: the heap trimmer's rule and the pooler's in-place result (behaviour;
the sizes themselves are measured in benchmarks/run.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlu_lite import encoder
from nlu_lite.pooling import UnitPooler


def _trimmer(monkeypatch, sizes, proc=True):
    calls = []
    monkeypatch.setattr(encoder, "_malloc_trim", lambda: calls.append)
    trimmer = encoder._Trimmer()
    trimmer.proc = proc
    feed = iter(sizes)
    monkeypatch.setattr(trimmer, "_resident", lambda: next(feed))
    return trimmer, calls


def test_memory_trims_only_growth_beyond_the_working_set(monkeypatch):
    mb = 1 << 20
    slack = encoder.TRIM_SLACK
    # batch 1 sets the mark; growth within the slack: nothing; beyond it: one trim; the batch after
    # a trim re-marks (its working set comes back), so the next growth is measured from there
    sizes = [100 * mb, 100 * mb + slack // 2, 101 * mb + slack, 120 * mb, 121 * mb, 121 * mb + slack + mb]
    trimmer, calls = _trimmer(monkeypatch, sizes)
    for n in range(1, len(sizes) + 1):
        trimmer(n)
    assert calls == [0, 0]


def test_memory_trims_every_so_many_batches_without_proc(monkeypatch):
    trimmer, calls = _trimmer(monkeypatch, [], proc=False)
    for n in range(1, 3 * encoder.TRIM_EVERY + 1):
        trimmer(n)
    assert calls == [0, 0, 0]


@pytest.mark.parametrize("pooling", ["mean", "max", "cls"])
@pytest.mark.parametrize("normalize", [False, True])
def test_memory_pooler_result_in_place_is_exact(pooling, normalize):
    """The result computed in the accumulator equals the out-of-place arithmetic; a unit never seen
    has no vector and zeros."""
    torch.manual_seed(0)
    pooler = UnitPooler(4, 8, pooling, torch.device("cpu"))
    hidden = torch.randn(5, 6, 8)
    mask = torch.ones(5, 6, dtype=torch.long)
    mask[1, 4:] = 0
    units = torch.tensor([0, 0, 2, 3, 3])
    pooler.add(units, hidden, mask, 0, None)
    acc, weight = pooler.acc.clone(), pooler.weight.clone()
    out, has = pooler.result(normalize)
    assert has.tolist() == [True, False, True, True]
    expected = acc.clone()
    seen = weight > 0
    if pooling != "max":
        expected[seen] = expected[seen] / weight[seen].unsqueeze(-1)
    expected[~seen] = 0.0
    if normalize:
        expected = torch.nn.functional.normalize(expected, p=2.0, dim=-1)
    np.testing.assert_array_equal(out, expected.numpy())
    assert out.dtype == np.float32 and not out[1].any()
