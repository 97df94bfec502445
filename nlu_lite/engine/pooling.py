"""Pooling: word pieces → words, and model windows → one vector per text or sentence.

Word pooling follows Spark NLP's BertEmbeddings by default (``first``: a word is the vector of
its first piece); ``mean`` and ``last`` are there for models and tasks that prefer them.

Unit pooling (sentence or document) follows sentence-transformers: ``mean`` averages every
position the model saw, special tokens included, so a text that fits one window gives exactly
``SentenceTransformer.encode``'s vector; ``cls`` takes the first special token's vector,
``pooler`` the model's pooler output (BERT's dense+tanh over [CLS], as Spark NLP's
BertSentenceEmbeddings), ``max`` the element-wise maximum.  sentence-transformers' other modes
are there for folders that ask for them: ``mean_sqrt_len_tokens`` (the sum over the square root
of the length), ``weightedmean`` (position t weighs t, from 1) and ``lasttoken`` (the last
attended position).  A text cut into several windows is pooled over all of them (``mean`` weights
windows by their length, ``weightedmean`` sums each window's weights, ``mean_sqrt_len_tokens``
divides the sum by the root of the total length; ``cls``, ``pooler`` and ``lasttoken`` average
the windows' vectors).
"""

from __future__ import annotations

import numpy as np
import torch

from nlu_lite.errors import InvalidOptionError
from nlu_lite.options import SENTENCE_POOLINGS, WORD_POOLINGS


def word_targets(word_start: np.ndarray, n_pieces: int, word_pooling: str) -> np.ndarray:
    """For each piece, the output row its vector goes to (-1: not needed) for ``word_pooling``."""
    if word_pooling not in WORD_POOLINGS:
        raise InvalidOptionError("word_pooling", word_pooling, WORD_POOLINGS)
    targets = np.full(n_pieces, -1, dtype=np.int64)
    n_words = len(word_start) - 1
    if word_pooling == "first":
        targets[word_start[:-1]] = np.arange(n_words)
    elif word_pooling == "last":
        targets[word_start[1:] - 1] = np.arange(n_words)
    else:  # mean: every piece, reduced afterwards
        targets[:] = np.arange(n_pieces)
    return targets


def reduce_words(piece_vecs: np.ndarray, word_start: np.ndarray) -> np.ndarray:
    """Mean of each word's pieces: ``piece_vecs`` (P, D) → (W, D), vectorised."""
    if len(word_start) <= 1:
        return np.zeros((0, piece_vecs.shape[1]), dtype=np.float32)
    sums = np.add.reduceat(piece_vecs, word_start[:-1], axis=0)
    counts = np.diff(word_start).astype(np.float32)[:, None]
    return (sums / counts).astype(np.float32, copy=False)


class UnitPooler:
    """Accumulates per-window statistics into one vector per unit (sentence or document)."""

    def __init__(self, n_units: int, dim: int, pooling: str, device: torch.device) -> None:
        if pooling not in SENTENCE_POOLINGS:
            raise InvalidOptionError("pooling", pooling, SENTENCE_POOLINGS)
        self.pooling = pooling
        self.acc = torch.zeros((n_units, dim), dtype=torch.float32, device=device)
        if pooling == "max":
            self.acc.fill_(float("-inf"))
        self.weight = torch.zeros(n_units, dtype=torch.float32, device=device)

    def add(
        self,
        units: torch.Tensor,
        hidden: torch.Tensor,
        mask: torch.Tensor,
        cls_index: int,
        pooler: torch.Tensor | None,
    ) -> None:
        """Fold in one batch: ``hidden`` (B, T, D), ``mask`` (B, T), ``units`` (B,) unit of each row."""
        hidden = hidden.float()
        if self.pooling in ("mean", "mean_sqrt_len_tokens", "weightedmean"):
            m = mask.to(hidden.dtype)
            if self.pooling == "weightedmean":  # position t (from 1) weighs t, as sentence-transformers
                m = m * torch.arange(1, m.shape[1] + 1, dtype=m.dtype, device=m.device)
            self.acc.index_add_(0, units, (hidden * m.unsqueeze(-1)).sum(dim=1))
            self.weight.index_add_(0, units, m.sum(dim=1).to(torch.float32))
        elif self.pooling == "max":
            masked = hidden.masked_fill(~mask.bool().unsqueeze(-1), float("-inf")).amax(dim=1)
            self.acc.scatter_reduce_(0, units[:, None].expand_as(masked), masked, "amax", include_self=True)
            self.weight.index_add_(0, units, torch.ones_like(units, dtype=torch.float32))
        else:
            if self.pooling == "pooler":
                if pooler is None:
                    raise InvalidOptionError("pooling", "pooler", "'mean', 'cls' or 'max': this model has no pooler")
                vec = pooler.float()
            else:
                rows = torch.arange(hidden.shape[0], device=hidden.device)
                if cls_index >= 0 and self.pooling == "cls":
                    vec = hidden[:, cls_index]
                else:  # lasttoken, or a classification token that comes last (XLNet): last attended position
                    vec = hidden[rows, mask.sum(dim=1) - 1]
            self.acc.index_add_(0, units, vec)
            self.weight.index_add_(0, units, torch.ones_like(units, dtype=torch.float32))

    def result(self, normalize: bool, head: torch.nn.Module | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(vectors (U, D) float32, has_vector (U,) bool); units the model never saw have no vector.
        ``head`` (a model's Dense modules) maps the pooled vectors before normalisation.  Called
        once: the vectors are computed in the accumulator itself."""
        has = self.weight > 0
        unseen = (~has).unsqueeze(-1)
        out = self.acc  # in place throughout: no second (or third) copy of the vectors
        if self.pooling == "mean_sqrt_len_tokens":  # the sum over the square root of the length
            out.div_(self.weight.clamp(min=1.0).sqrt_().unsqueeze(-1))
        elif self.pooling != "max":
            out.div_(self.weight.clamp(min=1.0).unsqueeze(-1))  # unseen units hold 0 and stay 0
        out.masked_fill_(unseen, 0.0)
        if head is not None:
            with torch.inference_mode():
                out = head(out).float()
                out.masked_fill_(unseen, 0.0)
        if normalize:  # torch.nn.functional.normalize's arithmetic, in place
            with torch.inference_mode():
                out.div_(out.norm(p=2.0, dim=-1, keepdim=True).clamp_min_(1e-12))
        return out.cpu().numpy().astype(np.float32, copy=False), has.cpu().numpy()
