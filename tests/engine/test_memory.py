"""Memory of long inputs: the heap trimmer's rule and the pooler's in-place result (behaviour;
the sizes themselves are measured in benchmarks/run.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nlu_lite.engine import encoder
from nlu_lite.engine.pooling import UnitPooler


def _trimmer(monkeypatch, sizes, proc=True):
    calls = []
    monkeypatch.setattr(encoder, "_malloc_trim", lambda: calls.append)
    trimmer = encoder._Trimmer()
    feed = iter(sizes)  # without /proc, the resident size is unknown (None)
    monkeypatch.setattr(trimmer, "_resident", (lambda: next(feed)) if proc else (lambda: None))
    return trimmer, calls


def test_memory_trims_only_growth_beyond_the_working_set(monkeypatch):
    mb = 1 << 20
    slack = encoder.TRIM_SLACK
    # batch 1 sets the mark; growth within the slack: nothing; beyond it: one trim; the batch after
    # a trim re-marks (its working set comes back), so the next growth is measured from there
    sizes = [100 * mb, 100 * mb + slack // 2, 101 * mb + slack, 120 * mb, 121 * mb, 121 * mb + slack + mb]
    trimmer, calls = _trimmer(monkeypatch, sizes)
    monkeypatch.setattr(encoder, "TRIM_GAP", 1)
    for n in range(1, len(sizes) + 1):
        trimmer(n)
    assert calls == [0, 0]


def test_memory_trims_at_most_every_gap_batches(monkeypatch):
    """Growth past the slack at every batch still trims only every TRIM_GAP batches."""
    slack = encoder.TRIM_SLACK
    gap = encoder.TRIM_GAP
    sizes = [k * 2 * slack for k in range(1, 3 * gap + 2)]
    trimmer, calls = _trimmer(monkeypatch, sizes)
    for n in range(1, len(sizes) + 1):
        trimmer(n)
    assert len(calls) == 3


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


@pytest.mark.parametrize("pooling", ["mean_sqrt_len_tokens", "weightedmean", "lasttoken"])
def test_memory_pooler_sentence_transformers_modes_over_windows(pooling):
    """Two windows of one unit (lengths 6 and 4, right-padded), pooled by sentence-transformers'
    formulas extended over windows: the length or the position weights summed over both, the last
    tokens averaged; a one-window unit is the formula itself."""
    torch.manual_seed(1)
    hidden = torch.randn(3, 6, 8)
    mask = torch.ones(3, 6, dtype=torch.long)
    mask[1, 4:] = 0
    pooler = UnitPooler(2, 8, pooling, torch.device("cpu"))
    pooler.add(torch.tensor([0, 0, 1]), hidden, mask, 0, None)
    out, has = pooler.result(False)
    positions = torch.arange(1, 7, dtype=torch.float32)
    a, b, c = hidden[0], hidden[1, :4], hidden[2]
    if pooling == "mean_sqrt_len_tokens":
        want = [(a.sum(0) + b.sum(0)) / 10**0.5, c.sum(0) / 6**0.5]
    elif pooling == "weightedmean":
        w = positions[:, None]
        want = [((a * w).sum(0) + (b * w[:4]).sum(0)) / (21 + 10), (c * w).sum(0) / 21]
    else:
        want = [(a[-1] + b[-1]) / 2, c[-1]]
    np.testing.assert_allclose(out, torch.stack(want).numpy(), rtol=1e-5, atol=1e-6)
    assert has.tolist() == [True, True]


def _long_text(chars: int) -> str:
    sentence = "The quick brown fox jumps over the lazy dog near St. Louis, doesn't it? Yes! "
    return (sentence * (chars // len(sentence) + 1))[:chars]


def test_memory_sentence_split_of_a_long_text_is_lean():
    """Splitting one 1 MB text allocates under 10 bytes per character (numpy's allocations are
    traced exactly); the array pass over all characters once took ~20 bytes each."""
    import tracemalloc

    from nlu_lite.tasks.sentences import split_spans_many

    text = _long_text(1_000_000)
    tracemalloc.start()
    try:
        inputs, _, _ = split_spans_many([text, "short one. Two."])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(inputs) > 10_000
    assert peak < 10 * len(text), f"{peak / len(text):.1f} bytes per character"  # the array pass: ~20


def test_memory_pieces_of_a_long_text_are_compact(minilm):
    """A long text's word pieces: int32 ids, offsets and word arrays, about 20 bytes a piece."""
    pieces = minilm.encoders[0].tokenize([_long_text(300_000)])
    per_piece = [pieces.ids, pieces.begin, pieces.end, pieces.word_start, pieces.word_unit]
    assert all(a.dtype == np.int32 for a in per_piece)
    assert sum(a.nbytes for a in per_piece) <= 21 * len(pieces.ids)


def test_memory_pooled_levels_keep_only_piece_ids(minilm, monkeypatch):
    """Sentence and document vectors need no piece offsets or words: the pipeline tokenizes for
    them without (a fifth of the memory of a long text's pieces), and the vectors are the same."""
    seen = []
    original = type(minilm.encoders[0]).tokenize

    def spy(self, texts, prefix="", spans=True):
        pieces = original(self, texts, prefix, spans)
        seen.append(pieces)
        return pieces

    text = _long_text(5_000)
    before = minilm.predict(text, output_level="document")
    monkeypatch.setattr(type(minilm.encoders[0]), "tokenize", spy)
    after = minilm.predict(text, output_level="document")
    assert seen and not seen[0].spans and len(seen[0].begin) == 0 and seen[0].ids.dtype == np.int32
    np.testing.assert_array_equal(
        after["en_embed_all_minilm_l6_v2_embeddings"].iloc[0], before["en_embed_all_minilm_l6_v2_embeddings"].iloc[0]
    )
    minilm.predict(text, output_level="token")
    assert seen[-1].spans and len(seen[-1].begin) == len(seen[-1].ids)


def test_memory_a_lone_batch_never_reads_the_resident_size(tiny, monkeypatch):
    """The growth check runs after a batch only once another batch comes: a single sentence (one
    batch) costs no /proc read; n batches read it n - 1 times."""
    reads = []
    real = encoder._Trimmer._resident
    monkeypatch.setattr(encoder._Trimmer, "_resident", lambda self: reads.append(1) or real(self))
    tiny.predict("I love NLP", progress=False)
    assert reads == []
    texts = [f"sentence number {k} is here" for k in range(12)]
    batches = []
    enc = tiny.encoders[0]
    monkeypatch.setattr(
        enc, "_run_batch", lambda batch, step, run=enc._run_batch: batches.append(1) or run(batch, step)
    )
    tiny.predict(texts, token_budget=16, progress=False)
    assert len(batches) > 2 and len(reads) == len(batches) - 1
