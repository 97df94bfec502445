"""Runners: the forward pass of a model, behind one small interface.

The :class:`~nlu_lite.engine.encoder.Encoder` plans windows and batches, and scatters or pools what
comes back; a runner only turns a padded batch of ids into hidden states.  A runner provides:

- ``engine`` (its name), ``n_layers``, ``has_pooler``, ``can_stop_early``, ``last_layer``;
- ``forward(input_ids, mask, layers, combine, need_pooler) -> (hidden (B, T, D), pooler (B, D) | None)``:
  the states of the chosen layers (indices into hidden_states: 0 = embeddings), combined;
- ``forward_selected(input_ids, mask, rows, cols, need_pooler) -> (states (N, D), pooler | None)``:
  last-layer states at (rows, cols) only, available where ``selects`` is true.

:class:`TorchRunner` runs the transformers model in torch, under forward hooks; it runs every model
on GPUs and whatever the fused CPU engine (:mod:`nlu_lite.engine.fused_cpu`, the default on x86-64 CPUs for the
post-norm encoder families it knows) cannot vouch for. Which families' layers it can hook, and where
they are, the family table says (:mod:`nlu_lite.hub.families`). When only early layers are
asked for, the hooks capture them and stop the forward at the deepest layer needed, so ``layers=0`` costs an
embedding lookup. The hooks read a thread-local request, so concurrent predict() calls with
different layer choices do not interfere. When only some positions of the last layer are needed, a
BERT-shaped last layer runs attention over every position, as it must, but its output projection and
feed-forward block only on the positions asked for; a check at load compares it with the full
forward and falls back for any layer where it differs. bfloat16/float16 run under autocast (weights
stay float32).
See docs/backends.md for adding a runner.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nlu_lite.hub import families

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("nlu_lite")


class Runner(Protocol):
    """What the encoder needs from a backend (see the module docstring)."""

    engine: str
    n_layers: int
    has_pooler: bool
    can_stop_early: bool
    last_layer: Any  # the layer run on selected positions only; None: forward_selected is off

    @property
    def selects(self) -> bool: ...

    def forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor, layers: list[int], combine: str, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...

    def forward_selected(
        self, input_ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]: ...


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


def _find_layers(model: Any, n_layers: int) -> tuple[Any, list[Any]] | None:
    """The embeddings module and the list of transformer layers, where the family table knows the
    layout: a post-norm encoder whose hidden_states[i] is exactly the output of layer module i-1."""
    layout = families.layout(model.config)
    if layout is None:
        return None
    embeddings = families.lookup(model, layout.embeddings)
    layers = families.lookup(model, layout.layers)
    if layers is not None and hasattr(layers, "__len__") and len(layers) == n_layers and embeddings is not None:
        return embeddings, list(layers)
    return None


def _pooler(model: Any) -> Any:
    """The model's pooler module, where its family's layout names one (else None)."""
    layout = families.layout(model.config)
    return families.follow(model, layout.pooler) if layout is not None and layout.pooler is not None else None


def precision(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[Any]:
    """Autocast for bfloat16/float16 (weights stay float32, matmuls run in the low precision),
    nothing for float32."""
    import torch

    if dtype is None or dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


class TorchRunner:
    """A transformers model run in torch: hooks, early stop, selected last layer, autocast, pooler."""

    engine = "torch"

    def __init__(
        self, model: Any, device: torch.device, dtype: torch.dtype | None, n_layers: int, name: str = ""
    ) -> None:
        self.model = model
        self.device = device
        # None or float32: plain fp32; bfloat16/float16: autocast around the forward (weights stay fp32,
        # matmuls run in the low precision, softmax and layer norms in fp32)
        self.dtype = dtype
        self.n_layers = n_layers
        self.has_pooler = bool(getattr(model, "_nlu_lite_pooler_trained", False))
        self._local = threading.local()
        found = _find_layers(model, n_layers)
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
                    logger.debug("%s: the last layer is not run on selected positions", name)
                    self.last_layer = None

    @property
    def selects(self) -> bool:
        """Can the last layer run on selected positions only?"""
        return self.last_layer is not None

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

    def forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor, layers: list[int], combine: str, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The model call: hidden states of the chosen layers, combined, and the pooler output."""
        with self._precision():
            return self._run_model(input_ids, mask, layers, combine, need_pooler)

    def forward_selected(
        self, input_ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Last-layer states at (rows, cols), (N, D), and the pooler output when (rows, cols) are the
        first positions of every row."""
        with self._precision():
            states = self._run_selected(input_ids, mask, rows, cols)
            pooler = _pooler(self.model) if need_pooler else None
            return states, pooler(states[:, None, :]) if pooler is not None else None

    def _precision(self) -> contextlib.AbstractContextManager[Any]:
        return precision(self.device, self.dtype)

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


class HeadRunner:
    """A model with a task head (``AutoModelForSequenceClassification``, ``…ForTokenClassification``)
    run whole in torch, as transformers' pipelines run it: its logits are what a task needs.

    Sequence classifiers give one logit vector per window, handed back as the pooler output (the
    encoder averages a unit's windows); token classifiers give logits per position, handed back as
    the states (the encoder keeps each piece's from the window that holds it most centrally).  The
    fused CPU engine does not serve heads: a head is applied to the model's own pooled or sequence
    output in ways that differ per family (a trained pooler, a dense-tanh block on ``<s>``, a
    pre-classifier with ReLU), which this runner takes from transformers exactly."""

    engine = "torch-head"
    can_stop_early = False
    last_layer = None

    def __init__(self, model: Any, device: torch.device, dtype: torch.dtype | None, n_layers: int) -> None:
        self.model = model
        self.device = device
        self.dtype = dtype
        self.n_layers = n_layers
        self.per_position = is_token_head(model)
        self.has_pooler = not self.per_position  # one logit vector per window
        self.n_labels = int(model.config.num_labels)

    @property
    def selects(self) -> bool:
        return False

    def forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor, layers: list[int], combine: str, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logits per position (B, T, C), None) for a token head; (logits (B, 1, C), logits (B, C))
        for a sequence head."""
        with precision(self.device, self.dtype):
            logits = self.model(input_ids=input_ids, attention_mask=mask).logits.float()
        if self.per_position:
            return logits, None
        return logits[:, None, :], logits

    def forward_selected(
        self, input_ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError("a head runs whole: selects is False")  # pragma: no cover


def has_task_head(model: Any) -> bool:
    """Is ``model`` a base model with a task head on top (not the bare encoder)?"""
    base = getattr(model, "base_model", model)
    return base is not model


def is_token_head(model: Any) -> bool:
    """A head that gives logits per position (token classification), not one per sequence."""
    return type(model).__name__.endswith("ForTokenClassification")
