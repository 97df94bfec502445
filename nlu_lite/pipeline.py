"""Pipeline: texts in, a pandas DataFrame of aligned tokens (or sentences, documents) and vectors out.

``predict`` = preprocess (read inputs, tokenize, plan windows) → forward (length-sorted,
token-budget batches under ``torch.inference_mode``; the only place the model is called) →
postprocess (scatter vectors to words or pool them, build one DataFrame at the end).
"""

from __future__ import annotations

import logging
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from nlu_lite.batching import Pieces, Windows, iter_batches, plan_windows, tokenize
from nlu_lite.components import Components
from nlu_lite.errors import InvalidOptionError
from nlu_lite.inputs import Errors, read_inputs
from nlu_lite.pooling import UnitPooler, reduce_words, word_targets
from nlu_lite.registry import OUTPUT_LEVELS, SENTENCE_POOLINGS, WORD_POOLINGS

if TYPE_CHECKING:
    import pandas as pd
    import torch

logger = logging.getLogger("nlu_lite")

LayerCombine = Literal["mean", "sum", "concat"]
DEFAULT_TOKEN_BUDGET = 16384
DEFAULT_BATCH_SIZE = 256


def _special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a single text ([CLS] … [SEP], <s> … </s>, … <sep> <cls>)."""
    probe = "a"
    body = tokenizer(probe, add_special_tokens=False)["input_ids"]
    full = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for i in range(len(full) - len(body) + 1):
        if full[i : i + len(body)] == body:
            return list(full[:i]), list(full[i + len(body) :])
    return [], []  # pragma: no cover - every tokenizer keeps the text's own ids


def _private_backend(backend: Any) -> Any:
    """Our own copy of a fast tokenizer: no padding, no truncation (tokenizer.json files often carry
    both, and transformers changes them on every call), and special tokens written in the text
    (a literal "[CLS]" or "<s>") read as text, never as control tokens."""
    from tokenizers import Tokenizer

    own = Tokenizer.from_str(backend.to_str())
    own.no_padding()
    own.no_truncation()
    own.encode_special_tokens = True
    return own


@dataclass(frozen=True)
class RunOptions:
    """How to run a model: which layers, how to combine them, how big the batches are."""

    layers: int | Sequence[int] = -1
    layer_combine: LayerCombine = "mean"
    token_budget: int = DEFAULT_TOKEN_BUDGET
    batch_size: int = DEFAULT_BATCH_SIZE


@dataclass
class Encoded:
    """What one component computed for a list of units."""

    pieces: Pieces
    windows: Windows
    rows: np.ndarray | None  # (R, D) vectors per output row (words or pieces)
    pooled: np.ndarray | None  # (U, D) one vector per unit
    has_pooled: np.ndarray | None  # (U,) bool


class Encoder:
    """One component (tokenizer + model) and how to run it."""

    def __init__(self, components: Components, device: torch.device) -> None:
        self.components = components
        self.entry = components.entry
        self.model = components.model
        self.device = device
        tokenizer = components.tokenizer
        self.backend = _private_backend(tokenizer.backend_tokenizer)
        self.prefix, self.suffix = _special_tokens(tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        limit = self.entry.max_length
        config_limit = getattr(self.model.config, "max_position_embeddings", None)
        if config_limit and getattr(self.model.config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            config_limit -= 2  # RoBERTa's positions start after the padding index
        if config_limit and config_limit > 0:
            limit = min(limit, int(config_limit))
        self.max_length = limit
        self.capacity = limit - len(self.prefix) - len(self.suffix)
        self.n_layers = int(getattr(self.model.config, "num_hidden_layers", self.entry.layers))
        self.cls_index = 0 if self.prefix else -1

    def tokenize(self, texts: Sequence[str]) -> Pieces:
        return tokenize(self.backend, texts)

    def _layer_indices(self, layers: int | Sequence[int]) -> list[int]:
        wanted = [layers] if isinstance(layers, (int, np.integer)) else list(layers)
        if not wanted:
            raise InvalidOptionError("layers", layers, "an int or a non-empty list of ints")
        out = []
        for layer in wanted:
            if not isinstance(layer, (int, np.integer)) or isinstance(layer, bool):
                raise InvalidOptionError("layers", layers, "an int or a list of ints")
            if not -(self.n_layers + 1) <= layer <= self.n_layers:
                raise InvalidOptionError(
                    "layers", layers, f"indices in [-{self.n_layers + 1}, {self.n_layers}] (0 = embeddings)"
                )
            out.append(int(layer) % (self.n_layers + 1))
        return out

    def _forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor, layers: list[int], combine: LayerCombine
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The model call: hidden states of the chosen layers, combined, and the pooler output."""
        import torch

        last_only = layers == [self.n_layers]
        out = self.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=not last_only)
        pooler = getattr(out, "pooler_output", None)
        if last_only:
            return out.last_hidden_state, pooler
        states = [out.hidden_states[i] for i in layers]
        if len(states) == 1:
            return states[0], pooler
        if combine == "concat":
            return torch.cat(states, dim=-1), pooler
        stacked = torch.stack(states, dim=0)
        return (stacked.mean(dim=0) if combine == "mean" else stacked.sum(dim=0)), pooler

    def encode(
        self,
        pieces: Pieces,
        targets: np.ndarray | None,
        n_rows: int,
        pooling: str | None,
        opts: RunOptions,
        normalize: bool = False,
        progress: Any = None,
    ) -> Encoded:
        """Run the model over ``pieces``.

        ``targets[p]`` is the output row that piece ``p``'s vector goes to (-1: not needed);
        ``pooling`` asks for one pooled vector per unit as well.
        """
        import torch

        layers, layer_combine, token_budget, batch_size = (
            opts.layers,
            opts.layer_combine,
            opts.token_budget,
            opts.batch_size,
        )
        if layer_combine not in ("mean", "sum", "concat"):
            raise InvalidOptionError("layer_combine", layer_combine, ("mean", "sum", "concat"))
        if isinstance(token_budget, bool) or not isinstance(token_budget, int) or token_budget < 1:
            raise InvalidOptionError("token_budget", token_budget, "a positive int")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidOptionError("batch_size", batch_size, "a positive int")
        layer_ids = self._layer_indices(layers)
        dim = self.entry.dimension * (len(layer_ids) if layer_combine == "concat" else 1)
        windows = plan_windows(pieces, self.capacity)
        rows = np.zeros((n_rows, dim), dtype=np.float32) if targets is not None else None
        pooler = UnitPooler(pieces.n_units, dim, pooling, self.device) if pooling else None
        batches = iter_batches(pieces, windows, self.prefix, self.suffix, self.pad_id, token_budget, batch_size)
        if progress is not None:
            batches = progress(batches)
        with torch.inference_mode():
            for batch in batches:
                ids = torch.from_numpy(batch.input_ids).to(self.device)
                mask = torch.from_numpy(batch.attention_mask).to(self.device)
                hidden, pooled_out = self._forward(ids, mask, layer_ids, layer_combine)
                if rows is not None and targets is not None:
                    dest = targets[batch.piece]
                    own = (windows.piece_window[batch.piece] == batch.windows[batch.rows]) & (dest >= 0)
                    if own.any():
                        r = torch.from_numpy(batch.rows[own]).to(self.device)
                        c = torch.from_numpy(batch.cols[own]).to(self.device)
                        rows[dest[own]] = hidden[r, c].float().cpu().numpy()
                if pooler is not None:
                    units = torch.from_numpy(windows.unit[batch.windows]).to(self.device)
                    pooler.add(units, hidden, mask, self.cls_index, pooled_out)
        pooled, has = pooler.result(normalize) if pooler is not None else (None, None)
        return Encoded(pieces, windows, rows, pooled, has)


class Pipeline:
    """Loaded components and the predict() that runs them.  Build one with ``nlu_lite.load``."""

    def __init__(self, components: Sequence[Components], device: str = "cpu") -> None:
        import torch

        if not components:
            raise InvalidOptionError("components", components, "at least one loaded component")
        self.device = torch.device(device)
        self.encoders = [Encoder(c, self.device) for c in components]

    @property
    def spellings(self) -> list[str]:
        return [e.entry.spelling for e in self.encoders]

    def __repr__(self) -> str:
        parts = ", ".join(f"{e.entry.spelling} ({e.components.origin}, {e.entry.dimension}-d)" for e in self.encoders)
        return f"nlu_lite.Pipeline({parts}; device={self.device})"

    def predict(
        self,
        data: Any,
        output_level: str | None = None,
        positions: bool = False,
        *,
        pooling: str | None = None,
        word_pooling: str | None = None,
        layers: int | Sequence[int] = -1,
        layer_combine: LayerCombine = "mean",
        text_column: str | None = None,
        keep_columns: bool = True,
        errors: Errors = "raise",
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Embed ``data`` and return a DataFrame at ``output_level``.

        - ``token``: one row per word of the tokenizer's pre-tokenisation, its text as written,
          its vector from the word's first piece (``word_pooling`` to change);
        - ``sub_token``: one row per word piece;
        - ``document``: one row per input, pooled as the registry says (``pooling`` to change).

        The index repeats each input's own label; null or blank inputs keep one row with an empty
        text and no vector.  ``positions=True`` adds ``begin``/``end`` character offsets.
        """
        import pandas as pd

        first = self.encoders[0]
        level = output_level or first.entry.output_level
        if level not in OUTPUT_LEVELS:
            raise InvalidOptionError("output_level", level, OUTPUT_LEVELS)
        if level == "sentence":
            raise InvalidOptionError("output_level", level, ("token", "sub_token", "document"))
        if pooling is not None and pooling not in SENTENCE_POOLINGS:
            raise InvalidOptionError("pooling", pooling, SENTENCE_POOLINGS)
        if word_pooling is not None and word_pooling not in WORD_POOLINGS:
            raise InvalidOptionError("word_pooling", word_pooling, WORD_POOLINGS)
        if len(self.encoders) > 1 and level in ("token", "sub_token"):
            raise InvalidOptionError("output_level", level, "'document' when several models are loaded together")
        inputs = read_inputs(data, text_column=text_column, errors=errors, keep_columns=keep_columns)
        texts = inputs.texts
        n_units = len(texts)
        columns: dict[str, Any] = {}
        opts = RunOptions(layers, layer_combine, token_budget, batch_size)
        if level in ("token", "sub_token"):
            enc = first
            pieces = enc.tokenize(texts)
            wp = word_pooling or enc.entry.word_pooling
            if level == "token":
                starts = pieces.word_start
                n_items = pieces.n_words
                unit_first = pieces.unit_word_start
                item_unit = pieces.word_unit
                begin, end = pieces.word_begin(), pieces.word_end()
            else:
                starts = np.arange(len(pieces.ids) + 1)
                n_items = len(pieces.ids)
                unit_first = pieces.unit_start
                item_unit = pieces.piece_unit
                begin, end = pieces.begin, pieces.end
            per_unit = np.diff(unit_first)
            empty = per_unit == 0
            # every unit gets at least one row; rows of an empty unit have no vector
            n_rows = int(np.maximum(per_unit, 1).sum())
            empties_before = np.concatenate([[0], np.cumsum(empty)])[:-1]
            row_of_item = np.arange(n_items) + empties_before[item_unit]
            empty_rows = unit_first[:-1][empty] + empties_before[empty]
            row_unit = np.empty(n_rows, dtype=np.int64)
            row_unit[row_of_item] = item_unit
            row_unit[empty_rows] = np.flatnonzero(empty)
            if level == "token" and wp == "mean":
                targets = np.arange(len(pieces.ids))
                enc_out = enc.encode(
                    pieces, targets, len(pieces.ids), None, progress=self._progress(progress, pieces), opts=opts
                )
                assert enc_out.rows is not None
                vectors = np.zeros((n_rows, enc_out.rows.shape[1]), dtype=np.float32)
                vectors[row_of_item] = reduce_words(enc_out.rows, starts)
            else:
                piece_targets = (
                    word_targets(starts, len(pieces.ids), wp) if level == "token" else np.arange(len(pieces.ids))
                )
                # map item index → output row
                mapped = np.where(piece_targets >= 0, row_of_item[np.maximum(piece_targets, 0)], -1)
                enc_out = enc.encode(pieces, mapped, n_rows, None, progress=self._progress(progress, pieces), opts=opts)
                assert enc_out.rows is not None
                vectors = enc_out.rows
            b = np.zeros(n_rows, dtype=np.int64)
            e = np.zeros(n_rows, dtype=np.int64)
            b[row_of_item] = begin
            e[row_of_item] = end
            tokens = [""] * n_rows
            for r, u, bb, ee in zip(
                row_of_item.tolist(), item_unit.tolist(), begin.tolist(), end.tolist(), strict=True
            ):
                tokens[r] = texts[u][bb:ee]
            columns[level] = tokens
            if positions:
                columns["begin"] = b
                columns["end"] = e
            has = np.zeros(n_rows, dtype=bool)
            has[row_of_item] = True
            columns[enc.entry.column] = _vector_column(vectors, has)
        else:  # document
            row_unit = np.arange(n_units)
            columns["document"] = list(texts)
            if positions:
                columns["begin"] = np.zeros(n_units, dtype=np.int64)
                columns["end"] = np.array([len(t) for t in texts], dtype=np.int64)
            for enc in self.encoders:
                pieces = enc.tokenize(texts)
                pool = pooling or enc.entry.pooling
                out = enc.encode(
                    pieces,
                    None,
                    0,
                    pool,
                    normalize=enc.entry.normalize and pooling is None,
                    progress=self._progress(progress, pieces),
                    opts=opts,
                )
                assert out.pooled is not None and out.has_pooled is not None
                columns[enc.entry.column] = _vector_column(out.pooled, out.has_pooled)
        index = inputs.index.take(row_unit)
        frame = pd.DataFrame(columns, index=index, copy=False)
        if inputs.carried is not None:
            carried = inputs.carried.iloc[row_unit]
            for name in carried.columns:
                if name not in frame.columns:
                    frame[name] = carried[name].to_numpy()
        frame.attrs["nlu_lite"] = self._provenance(level, pooling, word_pooling, layers, layer_combine)
        return frame

    def _progress(self, progress: bool | None, pieces: Pieces) -> Any:
        if progress is False or (progress is None and len(pieces.ids) < 200_000):
            return None
        from tqdm.auto import tqdm

        def wrap(it: Any) -> Any:
            return tqdm(it, desc="nlu_lite", unit="batch", leave=False)

        return wrap

    def _provenance(
        self, level: str, pooling: str | None, word_pooling: str | None, layers: Any, combine: str
    ) -> dict[str, Any]:
        import torch
        import transformers

        from nlu_lite import __version__

        return {
            "output_level": level,
            "models": [
                {
                    "spelling": e.entry.spelling,
                    "repo": e.components.repo,
                    "revision": e.components.revision,
                    "origin": e.components.origin,
                    "pooling": pooling or e.entry.pooling,
                    "word_pooling": word_pooling or e.entry.word_pooling,
                    "max_length": e.max_length,
                    "dtype": str(next(e.model.parameters()).dtype).replace("torch.", ""),
                }
                for e in self.encoders
            ],
            "layers": layers if isinstance(layers, int) else list(layers),
            "layer_combine": combine,
            "device": str(self.device),
            "versions": {
                "nlu_lite": __version__,
                "torch": torch.__version__,
                "transformers": transformers.__version__,
                "python": platform.python_version(),
            },
        }


def _vector_column(block: np.ndarray, has: np.ndarray) -> np.ndarray:
    """An object column of 1-D float32 views into ``block``; None where ``has`` is False."""
    col = np.empty(len(block), dtype=object)
    if has.all():
        col[:] = list(block)
    else:
        for i in np.flatnonzero(has).tolist():
            col[i] = block[i]
    return col
