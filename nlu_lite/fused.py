"""The fused CPU engine: post-norm encoders run on pre-packed oneDNN matrix multiplications.

On a CPU, torch's plain ``nn.Linear`` multiplies by a weight laid out for autograd, copies the bias
into every output first, and runs each activation and residual add as its own pass over memory.
This runner packs every weight once, at load, into the blocked layout oneDNN multiplies fastest
(``torch.ops.mkldnn._reorder_linear_weight``), fuses query, key and value into one multiplication,
the GELU into the feed-forward multiplication and each residual add into the projection before its
layer norm (``torch.ops.mkldnn._linear_pointwise``), and walks the layers itself.  The arithmetic is
the model's own (same weights, same order of layer norms and adds; attention is torch's
``scaled_dot_product_attention``); only the GEMM kernels and their rounding differ, by about 1e-6.

Measured on a 2-core AVX-512 Xeon (benchmarks/RESULTS.md, the forward alone against the transformers
forward on the same batches, two full runs): 1.16-1.29x on small_L2_256 and 1.08-1.10x on MiniLM in
float32, level with torch.compile's inductor freezing, with no compile step and nothing to cache.  In bfloat16 the
weights are packed in bfloat16 for AMX and the hidden states stay bfloat16 between layers: predict
runs at 2.9-3.3x the transformers forward's float32 on the real all-MiniLM-L6-v2, at min token
cosine 0.9997 to float32.

It runs where it is sure to give the model's numbers: an x86-64 CPU with oneDNN, a known post-norm
family (BERT, RoBERTa, XLM-R, CamemBERT, ELECTRA, MPNet with its relative position bias, DistilBERT)
with absolute positions and an activation oneDNN fuses,
and a check at load on a small padded batch against the transformers forward.  Anything else uses
:class:`~nlu_lite.runner.TorchRunner`; :func:`build` logs why, and the pipeline's ``engines`` (also
in ``pipe.components`` and ``df.attrs['engines']``) say which runner each model got.  The packed weights are a
second copy of the linear weights (float32: the same size again; bfloat16: half); the model itself
is never changed, so saving and sharing it stay as they were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nlu_lite.runner import ENCODER_FAMILIES

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("nlu_lite")

# config.hidden_act → the oneDNN post-op that computes it, and its algorithm
_ACTIVATIONS = {
    "gelu": ("gelu", "none"),
    "gelu_new": ("gelu", "tanh"),
    "gelu_pytorch_tanh": ("gelu", "tanh"),
    "relu": ("relu", ""),
}
_PLAIN = ("none", "")  # no post-op
ENGINE = "fused-onednn"
SMALL_ROWS = 16


X86 = {"x86_64", "amd64", "x64"}


def available() -> bool:
    """Is oneDNN's fused linear there, on an x86-64 CPU (where it was measured; ARM builds of
    torch route oneDNN through other libraries, where plain ``linear`` may well be faster)?"""
    import platform

    import torch

    mkldnn = getattr(torch.backends, "mkldnn", None)
    return (
        platform.machine().lower() in X86
        and mkldnn is not None
        and mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


class _Linear:
    """One linear layer (or several side by side, as query, key and value), its weight packed for
    oneDNN in one dtype, with an optional post-op.  In float32, batches of fewer than SMALL_ROWS rows
    (a single short sentence) run on the model's own weights with plain ``linear``: oneDNN's packed
    kernel costs ~25 us a call on a few rows, where plain ``linear`` costs ~14 us (measured here)."""

    def __init__(self, modules: list[Any], dtype: torch.dtype, post: tuple[str, str]):
        import torch

        weight = torch.cat([m.weight.detach() for m in modules], dim=0)
        bias = torch.cat([m.bias.detach() for m in modules], dim=0) if modules[0].bias is not None else None
        self.weight = torch.ops.mkldnn._reorder_linear_weight(weight.to(dtype).contiguous(), None)
        self.bias = None if bias is None else bias.to(dtype).contiguous()
        self.post, self.algorithm = post
        # the model's own parameters (no copy), for small float32 batches
        own = all(m.weight.dtype == torch.float32 for m in modules)
        self.plain = [(m.weight, m.bias) for m in modules] if dtype == torch.float32 and own else None

    def _small(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        assert self.plain is not None
        parts = [torch.nn.functional.linear(x, w, b) for w, b in self.plain]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        if self.plain is not None and x.shape[0] < SMALL_ROWS:
            y = self._small(x)
            if self.post == "gelu":
                return torch.nn.functional.gelu(y, approximate="tanh" if self.algorithm == "tanh" else "none")
            return torch.relu(y) if self.post == "relu" else y
        return torch.ops.mkldnn._linear_pointwise(x, self.weight, self.bias, self.post, [], self.algorithm)

    def plus(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """``x @ W.T + b + residual`` in one pass (the residual add fused into the GEMM)."""
        import torch

        if self.plain is not None and x.shape[0] < SMALL_ROWS:
            return self._small(x).add_(residual)
        return torch.ops.mkldnn._linear_pointwise.binary(x, residual, self.weight, self.bias, "add")


@dataclass
class _Norm:
    weight: torch.Tensor
    bias: torch.Tensor
    eps: float

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.nn.functional.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


def _linear(module: Any, dtype: torch.dtype, post: tuple[str, str] = _PLAIN) -> _Linear:
    return _Linear([module], dtype, post)


def _norm(module: Any, dtype: torch.dtype) -> _Norm:
    return _Norm(module.weight.detach().to(dtype), module.bias.detach().to(dtype), float(module.eps))


@dataclass
class _Parts:
    """The modules of one post-norm encoder layer, whatever each family calls them."""

    query: Any
    key: Any
    value: Any
    attention_out: Any
    attention_norm: Any
    intermediate: Any
    out: Any
    out_norm: Any
    heads: int
    head_size: int


def _parts(model_type: str, layer: Any) -> _Parts:
    if model_type == "distilbert":
        a = layer.attention
        return _Parts(
            a.q_lin, a.k_lin, a.v_lin, a.out_lin, layer.sa_layer_norm, layer.ffn.lin1, layer.ffn.lin2,
            layer.output_layer_norm, int(a.n_heads), int(a.attention_head_size),
        )  # fmt: skip
    if model_type == "mpnet":
        a = layer.attention.attn
        return _Parts(
            a.q, a.k, a.v, a.o, layer.attention.LayerNorm, layer.intermediate.dense, layer.output.dense,
            layer.output.LayerNorm, int(a.num_attention_heads), int(a.attention_head_size),
        )  # fmt: skip
    a = layer.attention.self
    return _Parts(
        a.query, a.key, a.value, layer.attention.output.dense, layer.attention.output.LayerNorm,
        layer.intermediate.dense, layer.output.dense, layer.output.LayerNorm, int(a.num_attention_heads),
        int(a.attention_head_size),
    )  # fmt: skip


def _layer_list(model: Any) -> Any:
    """The model's list of transformer layers (encoder.layer; DistilBERT's transformer.layer)."""
    for owner in ("encoder", "transformer"):
        layers = getattr(getattr(model, owner, None), "layer", None)
        if layers is not None:
            return layers
    return None


def _activation(config: Any) -> Any:
    return getattr(config, "hidden_act", None) or getattr(config, "activation", None)


class _Layer:
    """One post-norm encoder layer: fused QKV, attention, projection + residual, norm, feed-forward
    with its activation fused, projection + residual, norm."""

    def __init__(self, parts: _Parts, dtype: torch.dtype, activation: tuple[str, str]) -> None:
        self.heads = parts.heads
        self.head_size = parts.head_size
        self.scaling = self.head_size**-0.5
        self.qkv = _Linear([parts.query, parts.key, parts.value], dtype, _PLAIN)
        self.attention_out = _linear(parts.attention_out, dtype)
        self.attention_norm = _norm(parts.attention_norm, dtype)
        self.intermediate = _linear(parts.intermediate, dtype, activation)
        self.out = _linear(parts.out, dtype)
        self.out_norm = _norm(parts.out_norm, dtype)

    def attend(self, hidden: torch.Tensor, shape: tuple[int, int], mask: torch.Tensor | None) -> torch.Tensor:
        """Self-attention context of every position, (B·T, D)."""
        import torch

        batch, length = shape
        q, k, v = self.qkv(hidden).view(batch, length, 3, self.heads, self.head_size).permute(2, 0, 3, 1, 4)
        context = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=self.scaling)
        return context.transpose(1, 2).reshape(batch * length, self.heads * self.head_size)

    def finish(self, context: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """Output projection, residual, norm, feed-forward, residual, norm (rows of the same positions)."""
        attended = self.attention_norm(self.attention_out.plus(context, hidden))
        return self.out_norm(self.out.plus(self.intermediate(attended), attended))


def unsupported(model: Any, device: torch.device, n_layers: int) -> str | None:
    """Why the fused engine cannot run this model here, or None when it can."""
    config = model.config
    if device.type != "cpu":
        return f"device {device.type} (the fused engine is for CPUs)"
    if not available():
        return "this torch build has no oneDNN fused linear, or this CPU is not x86-64"
    if getattr(config, "model_type", None) not in ENCODER_FAMILIES:
        return f"model type {getattr(config, 'model_type', None)!r} is not a post-norm encoder it knows"
    if getattr(config, "position_embedding_type", "absolute") not in (None, "absolute"):
        return f"position_embedding_type {config.position_embedding_type!r}"
    if not isinstance(_activation(config), str) or _activation(config) not in _ACTIVATIONS:
        return f"activation {_activation(config)!r} has no fused kernel"
    if getattr(config, "is_decoder", False) or getattr(config, "add_cross_attention", False):
        return "a decoder"
    weights = {str(w.dtype).replace("torch.", "") for w in model.parameters()}
    if weights != {"float32"}:  # e.g. a checkpoint stored in float16, which transformers loads as such
        return f"its weights are {', '.join(sorted(weights))}, not float32"
    layers = _layer_list(model)
    if layers is None or len(layers) != n_layers or getattr(model, "embeddings", None) is None:
        return "no list of layers"
    return None


class FusedRunner:
    """A runner (see :mod:`nlu_lite.runner`) that walks a post-norm encoder's layers itself."""

    engine = ENGINE
    can_stop_early = True

    def __init__(self, model: Any, dtype: torch.dtype | None, n_layers: int) -> None:
        import torch

        self.model = model
        self.n_layers = n_layers
        self.has_pooler = bool(getattr(model, "_nlu_lite_pooler_trained", False))
        self.dtype = dtype if dtype is not None else torch.float32
        activation = _ACTIVATIONS[_activation(model.config)]
        family = model.config.model_type
        with torch.no_grad():
            self.layers = [_Layer(_parts(family, layer), self.dtype, activation) for layer in _layer_list(model)]
        self.project = getattr(model, "embeddings_project", None)  # ELECTRA's embedding → hidden size
        # MPNet adds a relative position bias, one per head, to the attention scores
        self.position_bias = model.encoder.compute_position_bias if family == "mpnet" else None
        self.last_layer: Any = _layer_list(model)[-1]  # None: no selected-positions forward

    @property
    def selects(self) -> bool:
        return self.last_layer is not None

    def _embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        hidden = self.model.embeddings(input_ids=input_ids)
        if self.project is not None:
            hidden = self.project(hidden)
        return hidden.reshape(-1, hidden.shape[-1]).to(self.dtype)

    def _mask(self, mask: torch.Tensor) -> torch.Tensor | None:
        """What attention adds to its scores: padding (a boolean mask; None without padding) and,
        for MPNet, the relative position bias (a float mask)."""
        import torch

        padding = None if bool(mask.all()) else mask.bool()[:, None, None, :]
        if self.position_bias is None:
            return padding
        bias = self.position_bias(mask[:1]).to(self.dtype)  # (1, heads, T, T)
        if padding is None:
            return bias
        return torch.where(padding, bias, torch.finfo(self.dtype).min)  # (B, heads, T, T)

    def _walk(self, input_ids: torch.Tensor, attn: torch.Tensor | None, wanted: set[int], upto: int) -> dict[int, Any]:
        """Hidden states (B·T, D) after layer i for i in ``wanted`` (0 = embeddings), up to ``upto``;
        ``attn``: the attention mask (None: no padding)."""
        shape = (int(input_ids.shape[0]), int(input_ids.shape[1]))
        hidden = self._embed(input_ids)
        states = {0: hidden} if 0 in wanted else {}
        for i in range(upto):
            layer = self.layers[i]
            hidden = layer.finish(layer.attend(hidden, shape, attn), hidden)
            if i + 1 in wanted:
                states[i + 1] = hidden
        return states

    def _pooled(self, first: torch.Tensor) -> torch.Tensor:
        """The model's pooler on the first positions' states (B, D)."""
        return self.model.pooler(first[:, None, :].float())

    def forward(
        self, input_ids: torch.Tensor, mask: torch.Tensor, layers: list[int], combine: str, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        import torch

        wanted = set(layers) | ({self.n_layers} if need_pooler else set())
        found = self._walk(input_ids, self._mask(mask), wanted, max(wanted))
        batch, length = int(input_ids.shape[0]), int(input_ids.shape[1])
        states = [found[i].view(batch, length, -1) for i in layers]
        pooler = self._pooled(found[self.n_layers].view(batch, length, -1)[:, 0]) if need_pooler else None
        if len(states) == 1:
            return states[0], pooler
        if combine == "concat":
            return torch.cat(states, dim=-1), pooler
        stacked = torch.stack([s.float() for s in states], dim=0)
        return (stacked.mean(dim=0) if combine == "mean" else stacked.sum(dim=0)), pooler

    def forward_selected(
        self, input_ids: torch.Tensor, mask: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, need_pooler: bool
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Last-layer states at (rows, cols) only: the last layer's attention reads every position,
        its projection and feed-forward block run on the positions asked for."""
        shape = (int(input_ids.shape[0]), int(input_ids.shape[1]))
        below = self.n_layers - 1
        attn = self._mask(mask)
        hidden = self._walk(input_ids, attn, {below}, below)[below]
        last = self.layers[-1]
        context = last.attend(hidden, shape, attn)
        flat = rows * shape[1] + cols
        states = last.finish(context[flat], hidden[flat])
        return states, self._pooled(states) if need_pooler else None


def _agrees(runner: FusedRunner, model: Any) -> bool:
    """Does the fused forward give the transformers forward's states (every layer, selected rows,
    pooler) on a small padded batch?  Checked once per load, in float32."""
    import torch

    vocab = int(getattr(model.config, "vocab_size", 0) or 0)
    if vocab < 2:
        return False
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1, vocab, (2, 7), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 4:] = 0
    rows, cols = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 6, 0, 3])
    keep = mask.bool()
    with torch.inference_mode():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        every = list(range(runner.n_layers + 1))
        mine = runner._walk(ids, runner._mask(mask), set(every), runner.n_layers)
        for i in every:
            if not torch.allclose(mine[i].view(2, 7, -1)[keep], out.hidden_states[i][keep], atol=1e-4, rtol=1e-4):
                return False
        picked, _ = runner.forward_selected(ids, mask, rows, cols, False)
        if not torch.allclose(picked, out.last_hidden_state[rows, cols], atol=1e-4, rtol=1e-4):
            return False
        if runner.has_pooler and out.pooler_output is not None:
            pooled = runner._pooled(mine[runner.n_layers].view(2, 7, -1)[:, 0])
            return bool(torch.allclose(pooled, out.pooler_output, atol=1e-4, rtol=1e-4))
    return True


def build(model: Any, device: torch.device, dtype: torch.dtype | None, n_layers: int, name: str) -> FusedRunner | None:
    """The fused runner for ``model``, or None (logged with the reason) where it cannot vouch for
    the model's numbers: the caller then runs the transformers forward."""
    import torch

    reason = unsupported(model, device, n_layers)
    if reason is None:
        try:
            checked = FusedRunner(model, None, n_layers)
            if not _agrees(checked, model):
                reason = "its states differ from the transformers forward on a test batch"
            elif dtype is None or dtype == torch.float32:
                return checked
            else:
                return FusedRunner(model, dtype, n_layers)
        except (RuntimeError, AttributeError, TypeError, ValueError) as exc:  # an unexpected module layout
            reason = f"{type(exc).__name__}: {exc}"
    logger.info("%s runs on the plain torch forward, not the fused engine: %s", name, reason)
    return None
