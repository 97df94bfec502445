"""One loaded component (tokenizer + model) and the forward pass over planned windows.

The model is called in exactly one place, :meth:`Encoder._forward`, under
``torch.inference_mode``.  When only early layers are asked for, forward hooks capture them and
stop the forward at the deepest layer needed, so ``layers=0`` costs an embedding lookup, not a
whole encoder.  The hooks read a thread-local request, so concurrent predict() calls with
different layer choices do not interfere.

When only some positions of the last layer are needed (each word's first piece at token level,
the first token for ``cls``/``pooler`` pooling, the pieces a window owns when long texts
overlap), a BERT-shaped last layer runs its attention over every position, as it must, but its
output projection and feed-forward block only on the positions asked for.  The result is the
model's own arithmetic on fewer rows; a check at load time compares it with the full forward and
falls back to the full forward for any layer where it differs.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from nlu_lite.batching import Batch, Pieces, Windows, iter_batches, plan_windows, tokenize
from nlu_lite.components import Components
from nlu_lite.errors import InvalidOptionError
from nlu_lite.pooling import UnitPooler

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("nlu_lite")

LayerCombine = Literal["mean", "sum", "concat"]
LAYER_COMBINES: tuple[str, ...] = ("mean", "sum", "concat")
# Padded positions per batch.  On CPUs small batches keep activations in cache: measured on 2 cores,
# budgets of 1-3k positions run 10-30 % faster than 16k (benchmarks/RESULTS.md); GPUs want big ones.
DEFAULT_TOKEN_BUDGET = 2048
GPU_TOKEN_BUDGET = 65536
DEFAULT_BATCH_SIZE = 256
# model types whose hidden_states[i] is exactly the output of layer module i-1 (no final norm)
_HOOKABLE = {"bert", "roberta", "xlm-roberta", "camembert", "electra", "distilbert", "mpnet"}


@dataclass(frozen=True)
class RunOptions:
    """How to run a model: which layers, how to combine them, how big the batches are."""

    layers: int | Sequence[int] = -1
    layer_combine: LayerCombine = "mean"
    token_budget: int | None = None  # None: DEFAULT_TOKEN_BUDGET on CPU, GPU_TOKEN_BUDGET on GPUs
    batch_size: int = DEFAULT_BATCH_SIZE
    overlap: float = 0.25


@dataclass
class Encoded:
    """What one component computed for a list of units."""

    pieces: Pieces
    windows: Windows
    rows: np.ndarray | None  # (R, D) vectors per output row
    pooled: np.ndarray | None  # (U, D) one vector per unit
    has_pooled: np.ndarray | None  # (U,) bool
    windows_per_unit: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class _StopForward(Exception):
    """Raised by a hook once the deepest layer needed has run."""


@dataclass
class _Capture:
    wanted: set[int]
    stop_at: int
    states: dict[int, Any] = field(default_factory=dict)


@dataclass
class _Select:
    """What the pre-hook of the last layer saw: its positional and keyword arguments."""

    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


def _bert_shaped(layer: Any) -> bool:
    """A post-norm encoder layer split as BERT's: attention.self, attention.output, intermediate, output."""
    attention = getattr(layer, "attention", None)
    return (
        attention is not None
        and all(hasattr(attention, name) for name in ("self", "output"))
        and all(hasattr(layer, name) for name in ("intermediate", "output"))
        and not getattr(layer, "is_decoder", False)
        and not getattr(layer, "add_cross_attention", False)
        and not getattr(layer, "chunk_size_feed_forward", 0)
    )


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


def _find_layers(model: Any, n_layers: int) -> tuple[Any, list[Any]] | None:
    """The embeddings module and the list of transformer layers, where the architecture is known."""
    if getattr(model.config, "model_type", None) not in _HOOKABLE:
        return None
    embeddings = getattr(model, "embeddings", None)
    for path in ("encoder.layer", "transformer.layer", "encoder.layers", "layer", "layers"):
        obj = model
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None and hasattr(obj, "__len__") and len(obj) == n_layers and embeddings is not None:
            return embeddings, list(obj)
    return None


class Encoder:
    """One component (tokenizer + model) and how to run it."""

    def __init__(self, components: Components, device: torch.device, dtype: torch.dtype | None = None) -> None:
        self.components = components
        # None or float32: plain fp32; bfloat16/float16: autocast around the forward (weights stay fp32,
        # matmuls run in the low precision, softmax and layer norms in fp32)
        self.dtype = dtype
        self.entry = components.entry
        self.model = components.model
        self.device = device
        tokenizer = components.tokenizer
        self.backend = _private_backend(tokenizer.backend_tokenizer)
        self.prefix, self.suffix = _special_tokens(tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        limit = self.entry.max_length
        config = self.model.config
        config_limit = getattr(config, "max_position_embeddings", None)
        if config_limit and getattr(config, "model_type", "") in ("roberta", "xlm-roberta", "camembert"):
            config_limit -= 2  # RoBERTa's positions start after the padding index
        if config_limit and config_limit > 0:
            limit = min(limit, int(config_limit))
        self.max_length = limit
        self.capacity = limit - len(self.prefix) - len(self.suffix)
        n_layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layers", None)
        self.n_layers = int(n_layers) if n_layers else self.entry.layers
        self.cls_index = 0 if self.prefix else -1
        self.has_pooler = bool(getattr(self.model, "_nlu_lite_pooler_trained", False))
        self.head = components.head  # the model's Dense modules after pooling, or None
        self._local = threading.local()
        found = _find_layers(self.model, self.n_layers)
        self.can_stop_early = found is not None
        self.last_layer: Any = None
        if found is not None:
            embeddings, layer_modules = found
            embeddings.register_forward_hook(functools.partial(self._hook, 0))
            for i, module in enumerate(layer_modules):
                module.register_forward_hook(functools.partial(self._hook, i + 1))
            if layer_modules and _bert_shaped(layer_modules[-1]):
                layer_modules[-1].register_forward_pre_hook(self._pre_last, with_kwargs=True)
                self.last_layer = layer_modules[-1]
                if not self._selection_matches():
                    logger.debug("%s: the last layer is not run on selected positions", self.entry.spelling)
                    self.last_layer = None

    def _hook(self, index: int, module: Any, args: Any, output: Any) -> None:
        capture: _Capture | None = getattr(self._local, "capture", None)
        if capture is None:
            return
        if index in capture.wanted:
            capture.states[index] = output[0] if isinstance(output, tuple) else output
        if index == capture.stop_at:
            raise _StopForward

    def _pre_last(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        select: _Select | None = getattr(self._local, "select", None)
        if select is None:
            return
        select.args, select.kwargs = args, kwargs
        raise _StopForward

    def _run_stopped(self, name: str, request: Any, input_ids: torch.Tensor, mask: torch.Tensor) -> None:
        """Run the model with a thread-local ``request`` (``capture`` or ``select``) that the hooks
        fill and that ends the forward early; the request is cleared whatever happens."""
        setattr(self._local, name, request)
        try:
            self.model(input_ids=input_ids, attention_mask=mask)
        except _StopForward:
            pass
        finally:
            setattr(self._local, name, None)

    def _run_selected(
        self, input_ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor
    ) -> torch.Tensor:
        """Last-layer states at (rows, cols) only, (N, D): the layers below run whole, the last
        layer's attention reads every position, its output projection and feed-forward block run
        on the N positions asked for."""
        select = _Select()
        self._run_stopped("select", select, input_ids, mask)
        args, kwargs = select.args, dict(select.kwargs)
        hidden = args[0] if args else kwargs.pop("hidden_states")
        attention_mask = args[1] if len(args) > 1 else kwargs.get("attention_mask")
        layer = self.last_layer
        context = layer.attention.self(hidden, attention_mask=attention_mask)[0]
        attended = layer.attention.output(context[rows, cols], hidden[rows, cols])
        return layer.output(layer.intermediate(attended), attended)

    def _selection_matches(self) -> bool:
        """Does the selected-positions last layer give the full forward's states?  Checked once,
        on a small padded batch, so that an unfamiliar layer falls back to the full forward."""
        import torch

        vocab = int(getattr(self.model.config, "vocab_size", 0) or 0)
        if vocab < 2:
            return False
        generator = torch.Generator().manual_seed(0)
        ids = torch.randint(1, vocab, (2, 7), generator=generator).to(self.device)
        mask = torch.ones_like(ids)
        mask[1, 4:] = 0
        rows = torch.tensor([0, 0, 0, 1, 1], device=self.device)
        cols = torch.tensor([0, 3, 6, 1, 3], device=self.device)
        try:
            with torch.inference_mode():
                full = self.model(input_ids=ids, attention_mask=mask).last_hidden_state[rows, cols]
                some = self._run_selected(ids, mask, rows, cols)
        except Exception as exc:  # any failure means: use the full forward
            logger.debug("selected-positions check failed: %r", exc)
            return False
        return some.shape == full.shape and bool(torch.allclose(some, full, atol=1e-4, rtol=1e-4))

    def tokenize(self, texts: Sequence[str], prefix: str = "") -> Pieces:
        """Word pieces of ``texts``; a ``prefix`` (an instruction such as E5's 'query: ') is
        tokenized in front of each text, and offsets stay relative to the text itself."""
        if not prefix:
            return tokenize(self.backend, texts)
        pieces = tokenize(self.backend, [prefix + t for t in texts])
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
        """User layer choice → indices into hidden_states (0 = embeddings, n_layers = last)."""
        wanted = [layers] if isinstance(layers, (int, np.integer)) else list(layers)
        if not wanted or isinstance(layers, (str, bytes, bool)):
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
        self, input_ids: torch.Tensor, mask: torch.Tensor, layers: list[int], combine: str, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The model call: hidden states of the chosen layers, combined, and the pooler output."""
        with self._precision():
            return self._run_model(input_ids, mask, layers, combine, need_pooler)

    def _forward_selected(
        self, input_ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Last-layer states at (rows, cols), (N, D), and the pooler output when (rows, cols) are the
        first positions of every row."""
        with self._precision():
            states = self._run_selected(input_ids, mask, rows, cols)
            pooler: Any = self.model.pooler if need_pooler else None
            return states, pooler(states[:, None, :]) if pooler is not None else None

    def _precision(self) -> contextlib.AbstractContextManager[Any]:
        """Autocast for bfloat16/float16 (weights stay float32), nothing for float32."""
        import torch

        if self.dtype is None or self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def _run_model(
        self, input_ids: torch.Tensor, mask: torch.Tensor, layers: list[int], combine: str, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        import torch

        last = self.n_layers
        pooler = None
        if layers == [last]:
            out = self.model(input_ids=input_ids, attention_mask=mask)
            states = [out.last_hidden_state]
            pooler = getattr(out, "pooler_output", None)
        elif self.can_stop_early and not need_pooler:
            capture = _Capture(set(layers), max(layers))
            self._run_stopped("capture", capture, input_ids, mask)
            states = [capture.states[i] for i in layers]
        else:
            out = self.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
            states = [out.hidden_states[i] for i in layers]
            pooler = getattr(out, "pooler_output", None)
        if len(states) == 1:
            return states[0], pooler
        if combine == "concat":
            return torch.cat(states, dim=-1), pooler
        stacked = torch.stack(states, dim=0)
        return (stacked.mean(dim=0) if combine == "mean" else stacked.sum(dim=0)), pooler

    def output_dim(self, opts: RunOptions) -> int:
        n = len(self.layer_indices(opts.layers))
        return self.entry.dimension * (n if opts.layer_combine == "concat" and n > 1 else 1)

    def encode(
        self,
        pieces: Pieces,
        targets: np.ndarray | None,
        n_rows: int,
        pooling: str | None,
        opts: RunOptions,
        normalize: bool = False,
        progress: Callable[[int], Any] | None = None,
        head: bool = False,
    ) -> Encoded:
        """Run the model over ``pieces``.

        ``targets[p]`` is the output row that piece ``p``'s vector goes to (-1: not needed);
        ``pooling`` asks for one pooled vector per unit as well, passed through the model's own
        sentence head (its Dense modules) when ``head`` is set, then L2-normalised if ``normalize``.
        """
        import torch

        if opts.layer_combine not in LAYER_COMBINES:
            raise InvalidOptionError("layer_combine", opts.layer_combine, LAYER_COMBINES)
        budget = opts.token_budget
        if budget is None:
            budget = DEFAULT_TOKEN_BUDGET if self.device.type == "cpu" else GPU_TOKEN_BUDGET
        for name, value in (("token_budget", budget), ("batch_size", opts.batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidOptionError(name, value, "a positive int")
        layer_ids = self.layer_indices(opts.layers)
        if pooling == "pooler" and not self.has_pooler:
            raise InvalidOptionError("pooling", "pooler", "'mean', 'cls' or 'max': this model has no trained pooler")
        need_pooler = pooling == "pooler"
        dim = self.output_dim(opts)
        windows = plan_windows(pieces, self.capacity, opts.overlap)
        rows = np.zeros((n_rows, dim), dtype=np.float32) if targets is not None else None
        pooler = UnitPooler(pieces.n_units, dim, pooling, self.device) if pooling else None
        batches: Iterable[Batch] = iter_batches(
            pieces, windows, self.prefix, self.suffix, self.pad_id, budget, opts.batch_size
        )
        # the last layer on the positions whose states are used only (see the module docstring)
        select = (
            self.last_layer is not None
            and layer_ids == [self.n_layers]
            and (
                (targets is not None and pooling is None)
                or (targets is None and pooling in ("cls", "pooler") and self.cls_index >= 0)
            )
        )
        with torch.inference_mode():
            for batch in batches:
                ids = torch.from_numpy(batch.input_ids).to(self.device)
                mask = torch.from_numpy(batch.attention_mask).to(self.device)
                owned = windows.piece_window[batch.piece] == batch.windows[batch.rows]
                # the positions whose states are kept: owned target pieces, or each row's first token
                if targets is not None:
                    dest = targets[batch.piece]
                    own = owned & (dest >= 0)
                    r = torch.from_numpy(batch.rows[own]).to(self.device)
                    c = torch.from_numpy(batch.cols[own]).to(self.device)
                elif select:
                    r = torch.arange(len(batch.windows), device=self.device)
                    c = torch.zeros_like(r)
                cls_index = self.cls_index
                picked = None
                if not select:
                    hidden, pooled_out = self._forward(ids, mask, layer_ids, opts.layer_combine, need_pooler)
                    if targets is not None:
                        picked = hidden[r, c]
                elif len(r):  # none when every piece of the batch is owned elsewhere or not a target
                    picked, pooled_out = self._forward_selected(ids, mask, r, c, need_pooler)
                    hidden, cls_index = picked[:, None, :], 0
                if rows is not None and picked is not None and targets is not None:
                    rows[dest[own]] = picked.float().cpu().numpy()
                if pooler is not None:
                    units = torch.from_numpy(windows.unit[batch.windows]).to(self.device)
                    pooler.add(units, hidden, mask, cls_index, pooled_out)
                if progress is not None:
                    progress(int(owned.sum()))
        module = self.head if head and layer_ids == [self.n_layers] else None
        pooled, has = pooler.result(normalize, module) if pooler is not None else (None, None)
        per_unit = np.bincount(windows.unit, minlength=pieces.n_units).astype(np.int64)
        return Encoded(pieces, windows, rows, pooled, has, per_unit)
