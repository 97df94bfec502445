"""One loaded component (tokenizer + model): tokenization, windows, batches, and scatter.

An Encoder tokenizes texts with its own copy of the fast tokenizer, plans windows for texts
longer than the model's window, packs length-sorted batches under a token budget, hands each
batch to its runner (:mod:`nlu_lite.engine.runner`: the forward pass, under ``torch.inference_mode``)
and scatters the states it gets back to output rows, or pools them per unit.  It asks the runner
for the last layer at selected positions only when that is all it needs: each word's first piece
at token level, the first token for ``cls``/``pooler`` pooling, the pieces a window owns.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.engine import fused_cpu as fused
from nlu_lite.engine.batches import (
    Batch,
    BatchLimits,
    Framing,
    PooledMemory,
    find_repeats,
    iter_batches,
    pooled_memory,
    whole_windows,
)
from nlu_lite.engine.pieces import SEGMENT_CHARS, Pieces, Windows, plan_windows, segments_agree, tokenize
from nlu_lite.engine.pooling import UnitPooler
from nlu_lite.engine.runner import HeadRunner, Runner, TorchRunner, has_task_head
from nlu_lite.errors import InvalidOptionError
from nlu_lite.hub.families import config_dimension, config_layers, position_limit
from nlu_lite.hub.loading import Components
from nlu_lite.options import PredictOptions

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("nlu_lite")

# Padded positions per batch.  On CPUs small batches keep activations in cache: measured on 2 cores,
# budgets of a few thousand positions run faster than 16k (docs/speed.md's token budget row); GPUs
# want big ones.
DEFAULT_TOKEN_BUDGET = 2048
GPU_TOKEN_BUDGET = 65536


@dataclass(frozen=True)
class Need:
    """What a task needs from one forward over a list of units (the seam between a task and the
    runner): the states of the chosen layers at kept positions, each scattered to an output row,
    and/or one pooled vector per unit.

    ``targets[p]`` is the output row that piece ``p``'s state goes to (-1: not kept; None: no
    rows at all); ``pooling`` asks for one vector per unit as well, passed through the model's own
    sentence head (its Dense modules) when ``head`` is set, then L2-normalised if ``normalize``.
    """

    targets: np.ndarray | None = None
    n_rows: int = 0
    pooling: str | None = None
    normalize: bool = False
    head: bool = False

    @classmethod
    def rows(cls, targets: np.ndarray, n_rows: int) -> Need:
        return cls(targets=targets, n_rows=n_rows)

    @classmethod
    def pooled(cls, pooling: str, normalize: bool = False, head: bool = False) -> Need:
        return cls(pooling=pooling, normalize=normalize, head=head)


@dataclass
class _Recalled:
    """The units of one encode that an earlier chunk of a streaming call already pooled (see
    :class:`nlu_lite.engine.batches.PooledMemory`): a whole unit in one window, with the same word-piece
    ids and pooling options.  ``run``: the windows still to run; ``keep``: (unit, key) of those
    run, remembered once pooled."""

    memory: PooledMemory | None
    run: np.ndarray
    units: np.ndarray
    vectors: list[np.ndarray]
    keep: list[tuple[int, Any]]
    pieces: int

    @classmethod
    def find(cls, options: Any, pieces: Pieces, windows: Windows, run: np.ndarray) -> _Recalled:
        """``options``: what besides the pieces decides a pooled vector (None: no pooled vectors
        only, nothing to recall); ``run``: the windows to run so far."""
        memory = pooled_memory.get() if options is not None else None
        if memory is None:
            return cls(None, run, np.zeros(0, dtype=np.int64), [], [], 0)
        whole = whole_windows(pieces, windows)
        whole = whole[run[whole]]
        ids, hits, vectors, keep = pieces.ids, [], [], []
        for w, b, n in zip(whole.tolist(), windows.start[whole].tolist(), windows.length[whole].tolist(), strict=True):
            key = (options, ids[b : b + n].tobytes())
            vector = memory.get(key)
            if vector is None:
                keep.append((int(windows.unit[w]), key))
            else:
                hits.append(w)
                vectors.append(vector)
        hit = np.asarray(hits, dtype=np.int64)
        still = run.copy()
        still[hit] = False
        return cls(memory, still, windows.unit[hit], vectors, keep, int(windows.length[hit].sum()))

    def fill(self, pooled: np.ndarray | None, has: np.ndarray | None) -> None:
        """Give the recalled units their remembered vectors, and remember the ones just run."""
        memory = self.memory
        if memory is None or pooled is None or has is None:
            return
        if len(self.units):
            pooled[self.units] = np.stack(self.vectors)
            has[self.units] = True
        for unit, key in self.keep:
            if has[unit]:
                memory.put(key, pooled[unit])


@dataclass
class Encoded:
    """What one component computed for a list of units."""

    pieces: Pieces
    windows: Windows
    rows: np.ndarray | None  # (R, D) vectors per output row
    pooled: np.ndarray | None  # (U, D) one vector per unit
    has_pooled: np.ndarray | None  # (U,) bool


def _special_tokens(tokenizer: Any) -> tuple[list[int], list[int]]:
    """The ids a tokenizer puts before and after a single text ([CLS] … [SEP], <s> … </s>, … <sep> <cls>)."""
    body = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a", add_special_tokens=True)["input_ids"]
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


# Free heap memory goes back to the system (glibc's malloc_trim) once the process has grown by
# TRIM_SLACK bytes since the last trim (or, where /proc is not there to tell, every TRIM_EVERY
# batches): torch's per-batch tensors of ever-changing shapes otherwise leave the heap full of
# free holes, and one text of a few MB at sentence level grew the process in encode several times as
# much as with the trims (measured; time unchanged within noise).
TRIM_SLACK = 64 << 20
TRIM_GAP = 32  # batches at least between two trims (a trim costs the pages the next batches touch again)
TRIM_EVERY = 64


def _touched_zeros(shape: tuple[int, int]) -> np.ndarray:
    """Zeros whose pages are all resident from the start (np.zeros maps them lazily): the output
    filling up would otherwise look like heap growth to the trimmer, which would trim in vain."""
    out = np.empty(shape, dtype=np.float32)
    out.fill(0.0)
    return out


class _Trimmer:
    """Calls malloc_trim once the resident size has grown by TRIM_SLACK over its level one batch
    after the last trim (that batch brings the working set back, which is not growth)."""

    def __init__(self) -> None:
        self.trim = _malloc_trim()
        self.page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self.mark: int | None = None
        self.last = 0  # the batch of the last trim

    def _resident(self) -> int | None:
        try:
            with open("/proc/self/statm", "rb") as fh:
                return int(fh.read().split()[1]) * self.page
        except (OSError, ValueError, IndexError):
            return None

    def __call__(self, n: int) -> None:
        if self.trim is None:
            return
        now = self._resident()
        if now is None:  # no /proc to tell the growth: every TRIM_EVERY batches
            if n % TRIM_EVERY == 0:
                self.trim(0)
            return
        if self.mark is None:
            self.mark = now
        elif now - self.mark > TRIM_SLACK and n - self.last >= TRIM_GAP:
            self.trim(0)
            self.mark, self.last = None, n


@functools.lru_cache(maxsize=1)
def _malloc_trim() -> Callable[[int], Any] | None:
    """glibc's malloc_trim, where the C library has it (Linux with glibc); None elsewhere."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
        return getattr(libc, "malloc_trim", None)
    except OSError:  # pragma: no cover - no C library to load
        return None


@dataclass
class _Pass:
    """One encode() call over a list of units: where each batch's states go (rows, the pooler)
    and what the runner is asked for (layers, the pooler, selected positions only)."""

    windows: Windows
    targets: np.ndarray | None
    rows: np.ndarray | None
    pooler: UnitPooler | None
    layers: list[int]
    combine: str
    need_pooler: bool
    select: bool


class Encoder:
    """One component (tokenizer + model) and how to run it."""

    def __init__(
        self, components: Components, device: torch.device, dtype: torch.dtype | None = None, engine: str = "auto"
    ) -> None:
        self.components = components
        self.dtype = dtype
        self.entry = components.entry
        self.model = components.model
        self.device = device
        tokenizer = components.tokenizer
        self.backend = _private_backend(tokenizer.backend_tokenizer)
        # long texts are tokenized in segments (bounded memory) where that gives the same pieces
        self.segment_chars = SEGMENT_CHARS if segments_agree(self.backend) else None
        self.prefix, self.suffix = _special_tokens(tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.framing = Framing(tuple(self.prefix), tuple(self.suffix), self.pad_id)
        limit = self.entry.max_length
        config = self.model.config
        positions = position_limit(config, self.model)
        if positions:
            limit = min(limit, positions)
        self.max_length = limit
        self.capacity = limit - len(self.prefix) - len(self.suffix)
        self.n_layers = config_layers(config) or int(self.entry.layers or 0)
        self.dimension = int(self.entry.dimension or config_dimension(config) or 0)  # settled from config
        self.cls_index = 0 if self.prefix else -1
        self.head = components.head  # the model's Dense modules after pooling, or None
        # the fused CPU engine where it can vouch for the model's numbers, else the transformers forward
        self.runner: Runner = self._runner(device, dtype, engine)

    def _runner(self, device: torch.device, dtype: torch.dtype | None, engine: str) -> Runner:
        """A model with a task head runs whole (its logits); an encoder runs on the fused CPU engine
        where that can vouch for the model's numbers, else on the transformers forward."""
        if has_task_head(self.model):
            return HeadRunner(self.model, device, dtype, self.n_layers)
        chosen = (
            fused.build(self.model, device, dtype, self.n_layers, self.entry.spelling) if engine == "auto" else None
        )
        return chosen or TorchRunner(self.model, device, dtype, self.n_layers, self.entry.spelling)

    @property
    def engine(self) -> str:
        """The runner's engine name (``pipe.components``, ``df.attrs['engines']``)."""
        return self.runner.engine

    @property
    def has_pooler(self) -> bool:
        return self.runner.has_pooler

    @property
    def can_stop_early(self) -> bool:
        return self.runner.can_stop_early

    @property
    def last_layer(self) -> Any:
        """The last layer module when it runs on selected positions only (the runner's), else None."""
        return self.runner.last_layer

    @last_layer.setter
    def last_layer(self, layer: Any) -> None:
        self.runner.last_layer = layer

    def tokenize(self, texts: Sequence[str], prefix: str = "", spans: bool = True) -> Pieces:
        """Word pieces of ``texts``; a ``prefix`` (an instruction such as E5's 'query: ') is
        tokenized in front of each text, and offsets stay relative to the text itself.
        ``spans=False``: ids only (pooled levels need no offsets or words)."""
        if not prefix:
            return tokenize(self.backend, texts, self.segment_chars, spans)
        pieces = tokenize(self.backend, [prefix + t for t in texts], self.segment_chars, spans)
        if not spans:
            return pieces
        shift = len(prefix)
        return Pieces(
            pieces.ids,
            pieces.begin - shift,
            pieces.end - shift,
            pieces.unit_start,
            pieces.word_start,
            pieces.word_unit,
            pieces.unit_word_start,
        )

    def prefix_for(self, prompt: str | None) -> str:
        """The text put in front of each input for a prompt name (``query``, ``passage``, or any
        name the model's files define); None: the model's default prompt, if its files name one."""
        table = self.entry.prompt_table()
        if prompt is None:
            return table.get(self.entry.default_prompt or "", "")
        return table.get(prompt, "")

    def layer_indices(self, layers: int | Sequence[int]) -> list[int]:
        """User layer choice (an int or a tuple of ints, as PredictOptions made it) → indices into
        hidden_states (0 = embeddings, n_layers = last); the range is the model's to check."""
        wanted = [layers] if isinstance(layers, int) else list(layers)
        out = []
        for layer in wanted:
            if not -(self.n_layers + 1) <= layer <= self.n_layers:
                raise InvalidOptionError(
                    "layers", layers, f"indices in [-{self.n_layers + 1}, {self.n_layers}] (0 = embeddings)"
                )
            out.append(int(layer) % (self.n_layers + 1))
        return out

    def output_dim(self, options: PredictOptions) -> int:
        """The width of what encode() gives: logits for a model with a task head, else hidden states."""
        if isinstance(self.runner, HeadRunner):
            return self.runner.n_labels
        n = len(self.layer_indices(options.layers))
        return self.dimension * (n if options.layer_combine == "concat" and n > 1 else 1)

    def windows(self, pieces: Pieces, overlap: float) -> Windows:
        """The model windows ``pieces`` are cut into (see pieces.plan_windows)."""
        return plan_windows(pieces, self.capacity, overlap)

    def encode(
        self, pieces: Pieces, need: Need, options: PredictOptions, progress: Callable[[int], Any] | None = None
    ) -> Encoded:
        """Run the model over ``pieces`` for what ``need`` asks (the layers and batch sizes of
        ``options``): length-sorted batches of the windows still to run, each through the runner."""
        import torch

        layer_ids = self._check_need(need, options)
        work = self._plan(pieces, need, options, layer_ids)
        # a window that repeats an earlier one (the same text again) is not run: it takes its results
        repeats = find_repeats(pieces, work.windows, None if need.targets is None else need.targets >= 0)
        module = self.head if need.head and layer_ids == [self.n_layers] else None
        # nor, in a streaming call, a unit whose pooled vector an earlier chunk computed
        key = (id(self), need.pooling, tuple(layer_ids), options.layer_combine, need.normalize, module is not None)
        pooled_only = need.pooling is not None and need.targets is None
        recalled = _Recalled.find(key if pooled_only else None, pieces, work.windows, repeats.run)
        limits = BatchLimits(self._budget(options), options.batch_size)
        trim = _Trimmer()
        with torch.inference_mode():
            for n, batch in enumerate(iter_batches(pieces, work.windows, self.framing, limits, recalled.run), 1):
                if n > 1:  # after the batch before, once another comes: a lone batch never reads /proc
                    trim(n - 1)
                owned = self._run_batch(batch, work)
                if progress is not None:
                    progress(owned)
        if progress is not None and len(repeats.piece) + recalled.pieces:
            progress(len(repeats.piece) + recalled.pieces)
        pooled, has = work.pooler.result(need.normalize, module) if work.pooler is not None else (None, None)
        recalled.fill(pooled, has)  # before the repeats, whose sources may be recalled ones
        repeats.fill(work.rows, need.targets, pooled, has)
        return Encoded(pieces, work.windows, work.rows, pooled, has)

    def _check_need(self, need: Need, options: PredictOptions) -> list[int]:
        """The layer indices asked for, checked against what the model has (a trained pooler)."""
        layer_ids = self.layer_indices(options.layers)
        if need.pooling == "pooler" and not self.has_pooler:
            raise InvalidOptionError("pooling", "pooler", "'mean', 'cls' or 'max': this model has no trained pooler")
        if need.pooling == "pooler" and layer_ids != [self.n_layers]:  # the pooler reads the last [CLS] only
            raise InvalidOptionError("layers", options.layers, "-1 (the last layer) with pooling='pooler'")
        return layer_ids

    def _plan(self, pieces: Pieces, need: Need, options: PredictOptions, layer_ids: list[int]) -> _Pass:
        dim = self.output_dim(options)
        return _Pass(
            windows=self.windows(pieces, options.overlap),
            targets=need.targets,
            rows=_touched_zeros((need.n_rows, dim)) if need.targets is not None else None,
            pooler=UnitPooler(pieces.n_units, dim, need.pooling, self.device) if need.pooling else None,
            layers=layer_ids,
            combine=options.layer_combine,
            need_pooler=need.pooling == "pooler",
            select=self._selects(layer_ids, need.targets is not None, need.pooling),
        )

    def _selects(self, layer_ids: list[int], token_rows: bool, pooling: str | None) -> bool:
        """Run the last layer on the positions whose states are used only (see the module
        docstring): each kept piece at token level, the first token for cls/pooler pooling."""
        first_token = not token_rows and pooling in ("cls", "pooler") and self.cls_index >= 0
        return (
            self.runner.selects and layer_ids == [self.n_layers] and ((token_rows and pooling is None) or first_token)
        )

    def _budget(self, options: PredictOptions) -> int:
        """The token budget in force (the options themselves were checked by PredictOptions)."""
        if options.token_budget is not None:
            return options.token_budget
        return DEFAULT_TOKEN_BUDGET if self.device.type == "cpu" else GPU_TOKEN_BUDGET

    def _run_batch(self, batch: Batch, step: _Pass) -> int:
        """One batch through the runner; its kept states scattered to rows or folded into the
        pooler.  Returns the number of pieces this batch owns (for progress)."""
        import torch

        ids = torch.from_numpy(batch.input_ids).to(self.device)
        mask = torch.from_numpy(batch.attention_mask).to(self.device)
        windows, targets = step.windows, step.targets
        owned = windows.piece_window[batch.piece] == batch.windows[batch.rows]
        # the positions whose states are kept: owned target pieces, or each row's first token
        if targets is not None:
            dest = targets[batch.piece]
            own = owned & (dest >= 0)
            r = torch.from_numpy(batch.rows[own]).to(self.device)
            c = torch.from_numpy(batch.cols[own]).to(self.device)
        elif step.select:
            r = torch.arange(len(batch.windows), device=self.device)
            c = torch.zeros_like(r)
        cls_index = self.cls_index
        picked = None
        if not step.select:
            hidden, pooled_out = self.runner.forward(ids, mask, step.layers, step.combine, step.need_pooler)
            if targets is not None:
                picked = hidden[r, c]
        elif len(r):  # none when every piece of the batch is owned elsewhere or not a target
            picked, pooled_out = self.runner.forward_selected(ids, mask, r, c, step.need_pooler)
            hidden, cls_index = picked[:, None, :], 0
        if step.rows is not None and picked is not None and targets is not None:
            step.rows[dest[own]] = picked.float().cpu().numpy()
        if step.pooler is not None:
            units = torch.from_numpy(windows.unit[batch.windows]).to(self.device)
            step.pooler.add(units, hidden, mask, cls_index, pooled_out)
        return int(owned.sum())
