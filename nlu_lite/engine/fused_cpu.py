"""The fused CPU engine: post-norm encoders walked layer by layer on the GEMM fastest for the CPU.

On a CPU, torch's plain ``nn.Linear`` multiplies by a weight laid out for autograd, copies the bias
into every output first, and runs each activation and residual add as its own pass over memory.
This runner walks the layers itself: query, key and value are one multiplication, BERT's and
ELECTRA's embeddings are summed from tables read once, and the dense layers run on one of two
kernels, chosen by the CPU (:func:`packs_float32`), each where it measured fastest:

- ``fused-onednn`` (CPUs with AVX-512): every weight packed once, at load, into the blocked layout
  oneDNN multiplies fastest (``torch.ops.mkldnn._reorder_linear_weight``), the GELU fused into the
  feed-forward multiplication and each residual add into the projection before its layer norm
  (``torch.ops.mkldnn._linear_pointwise``).  On a 2-core AVX-512 Xeon the forward alone runs ahead
  of the transformers forward on the same batches in float32, level with torch.compile's inductor
  freezing, with no compile step and nothing to cache.  In bfloat16 the weights are packed in
  bfloat16 for AMX and the hidden states stay bfloat16 between layers: predict runs several times
  as fast as the transformers forward's float32, with token vectors close to float32's.
- ``fused-blas`` (AVX2-only CPUs): plain ``linear`` (torch's BLAS) on the model's own weights.  On
  a 2-core AMD EPYC (AVX2) oneDNN's packed calls ran slower than BLAS on the model's shapes and the
  oneDNN walk behind the transformers forward; the BLAS walk, timed per batch, is level with it or
  ahead.

Measured: see docs/speed.md, which quotes each figure from benchmarks/RESULTS.md.

The arithmetic is the model's own (same weights, same order of layer norms and adds; attention is
torch's ``scaled_dot_product_attention``); only the GEMM kernels and their rounding differ, by
about 1e-6.

It runs where it is sure to give the model's numbers: an x86-64 CPU with oneDNN, a post-norm family
the family table serves (:data:`nlu_lite.hub.families.MODEL_MAPPING`: BERT, RoBERTa, XLM-R,
CamemBERT, ELECTRA, MPNet with its relative position bias, DistilBERT; the table says where each
keeps its modules, and why it refuses the families it refuses) with absolute positions and an
activation oneDNN fuses, bfloat16 only where oneDNN has bfloat16 kernels for the CPU
(:func:`nlu_lite.engine.devices.packs_bfloat16`), and a check at load on a small padded batch
against the transformers forward.  Anything else uses :class:`~nlu_lite.engine.runner.TorchRunner`;
:func:`build` logs why, and the pipeline's ``engines`` (also in ``pipe.components`` and
``df.attrs['engines']``) say which runner each model got.  oneDNN's packed weights are a second copy
of the linear weights (float32: the same size again; bfloat16: half); the BLAS kernel copies only
the joined query/key/value weights.  The model itself is never changed, so saving and sharing it stay
as they were.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from nlu_lite.engine.devices import packs_bfloat16
from nlu_lite.hub import families
from nlu_lite.hub.families import Layout

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
ENGINES = {True: "fused-onednn", False: "fused-blas"}  # by kernel: oneDNN's packed GEMM, torch's BLAS
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
    """One linear layer (or several side by side, as query, key and value) with an optional post-op,
    on one of two kernels:

    - oneDNN's packed GEMM (``packed``): the weight reordered once for oneDNN in the compute dtype,
      the post-op and residual add fused into the multiplication.  Batches of fewer than SMALL_ROWS
      rows (a single short sentence) still run plain ``linear`` in float32: on a few rows oneDNN's
      packed call costs more than plain ``linear`` (measured on a Xeon: see docs/speed.md).
    - torch's BLAS (plain ``linear`` on the model's own float32 weights; several modules' weights
      joined once, so query, key and value stay one multiplication), the post-op and add after it.
    """

    def __init__(self, modules: list[Any], dtype: torch.dtype, post: tuple[str, str], packed: bool):
        import torch

        joined = len(modules) > 1
        weight = torch.cat([m.weight.detach() for m in modules], dim=0) if joined else modules[0].weight.detach()
        bias = modules[0].bias
        if bias is not None:
            bias = torch.cat([m.bias.detach() for m in modules], dim=0) if joined else bias.detach()
        self.post, self.algorithm = post
        # float32: the model's own parameters (a joined copy for several modules) for plain ``linear``
        self.weight = weight.contiguous() if dtype == torch.float32 else None
        self.bias = bias
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.to(dtype).contiguous(), None) if packed else None
        self.packed_bias = None if bias is None or not packed else bias.to(dtype).contiguous()

    def _plain(self, x: torch.Tensor) -> bool:
        return self.packed is None or (self.weight is not None and x.shape[0] < SMALL_ROWS)

    def _blas(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        assert self.weight is not None  # float32 (bfloat16 always packs)
        return torch.nn.functional.linear(x, self.weight, self.bias)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        if self._plain(x):
            y = self._blas(x)
            if self.post == "gelu":  # in place, over the GEMM's own output (see gelu_)
                return gelu_(y, "tanh" if self.algorithm == "tanh" else "none")
            return y.relu_() if self.post == "relu" else y
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.packed_bias, self.post, [], self.algorithm)

    def plus(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        """``x @ W.T + b + residual`` (on oneDNN, the residual add fused into the GEMM)."""
        import torch

        if self._plain(x):
            return self._blas(x).add_(residual)
        return torch.ops.mkldnn._linear_pointwise.binary(x, residual, self.packed, self.packed_bias, "add")


def gelu_(x: torch.Tensor, approximate: str) -> torch.Tensor:
    """GELU written over ``x`` itself (bit for bit the values of ``torch.nn.functional.gelu``).  The
    feed-forward's widest tensor then needs no second buffer: on a 2-core AMD EPYC (AVX2) the
    forward ran faster on small_L2_256 and all-MiniLM-L6-v2 than with the GELU writing a new tensor
    (the same batches run both ways in turn; measured: see docs/speed.md)."""
    from torch._C import _nn

    return _nn.gelu(x, approximate=approximate, out=x)  # type: ignore[call-arg]  # its `out` is not in the stubs


@dataclass
class _Norm:
    weight: torch.Tensor
    bias: torch.Tensor
    eps: float

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        return torch.nn.functional.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


def _linear(module: Any, dtype: torch.dtype, packed: bool, post: tuple[str, str] = _PLAIN) -> _Linear:
    return _Linear([module], dtype, post, packed)


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


def _parts(layout: Layout, layer: Any) -> _Parts:
    """One layer's modules, found where the family's layout says."""

    def at(path: str) -> Any:
        return families.follow(layer, path)

    return _Parts(
        at(layout.query), at(layout.key), at(layout.value), at(layout.attention_out), at(layout.attention_norm),
        at(layout.intermediate), at(layout.out), at(layout.out_norm), int(at(layout.heads)),
        int(at(layout.head_size)),
    )  # fmt: skip


def _layout(model: Any) -> Layout:
    """The layout of a family the fused engine serves (ValueError for any other)."""
    layout = families.layout(model.config)
    if layout is None:
        raise ValueError(families.refusal(model.config))
    return layout


def _layer_list(model: Any) -> Any:
    """The model's list of transformer layers, where its family's layout says (None: not there)."""
    return families.lookup(model, _layout(model).layers)


def _activation(config: Any) -> Any:
    """The config's name of the feed-forward activation, under the key its family's layout says."""
    layout = families.layout(config)
    return getattr(config, layout.activation, None) if layout is not None else None


class _Layer:
    """One post-norm encoder layer: fused QKV, attention, projection + residual, norm, feed-forward
    with its activation fused, projection + residual, norm."""

    def __init__(self, parts: _Parts, dtype: torch.dtype, activation: tuple[str, str], packed: bool) -> None:
        self.heads = parts.heads
        self.head_size = parts.head_size
        self.scaling = self.head_size**-0.5
        self.qkv = _Linear([parts.query, parts.key, parts.value], dtype, _PLAIN, packed)
        self.attention_out = _linear(parts.attention_out, dtype, packed)
        self.attention_norm = _norm(parts.attention_norm, dtype)
        self.intermediate = _linear(parts.intermediate, dtype, packed, activation)
        self.out = _linear(parts.out, dtype, packed)
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


def packs_float32() -> bool:
    """Does float32 run on oneDNN's packed GEMM here (else on torch's BLAS, plain ``linear``)?
    On CPUs with AVX-512: there the packed GEMM with its fused post-ops put the forward ahead of the
    transformers forward (a Xeon with AVX-512 and AMX).  On AVX2-only CPUs (an AMD EPYC) the same
    packed calls ran slower than torch's BLAS on the same shapes and the forward behind the
    transformers forward, while the fused walk on BLAS, timed per batch, was level with it or ahead
    (measured: see docs/speed.md)."""
    import torch

    capability = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    return capability is not None and str(capability()).upper().startswith("AVX512")


def unsupported(model: Any, device: torch.device, n_layers: int, dtype: torch.dtype | None = None) -> str | None:
    """Why the fused engine cannot run this model here (in ``dtype``; None: float32), or None when it can."""
    import torch

    config = model.config
    if device.type != "cpu":
        return f"device {device.type} (the fused engine is for CPUs)"
    if not available():
        return "this torch build has no oneDNN fused linear, or this CPU is not x86-64"
    if dtype not in (None, torch.float32) and (dtype != torch.bfloat16 or not packs_bfloat16()):
        return f"this CPU has no oneDNN {str(dtype).replace('torch.', '')} kernels (AVX512-BF16, AMX or AVX-NE-CONVERT)"
    refused = families.refusal(config)
    if refused is not None:
        return refused
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
    if layers is None or len(layers) != n_layers or families.lookup(model, _layout(model).embeddings) is None:
        return "no list of layers"
    return None


def _embedding_tables(layout: Layout, embeddings: Any) -> tuple[Any, Any, Any, _Norm] | None:
    """For embeddings the layout says are summed (BERT's, ELECTRA's), what their forward adds to
    each word's vector, read once: the token type row and the position row of every position (from
    the module's own buffers, as its forward reads them when given input ids only), and its layer
    norm.  None for other layouts (RoBERTa's padding-aware positions, MPNet's, DistilBERT's), which
    run the module itself."""
    import torch

    if not layout.summed_embeddings:
        return None
    try:
        positions = embeddings.position_ids[0]
        types = getattr(embeddings, "token_type_ids", None)
        kinds = types[0][positions] if types is not None else torch.zeros_like(positions)
        return (
            embeddings.word_embeddings.weight.detach(),
            embeddings.token_type_embeddings.weight.detach()[kinds],
            embeddings.position_embeddings.weight.detach()[positions],
            _norm(embeddings.LayerNorm, torch.float32),
        )
    except (AttributeError, IndexError, TypeError):  # a layout other than the one read here
        return None


class FusedRunner:
    """A runner (see :mod:`nlu_lite.engine.runner`) that walks a post-norm encoder's layers itself."""

    can_stop_early = True

    def __init__(self, model: Any, dtype: torch.dtype | None, n_layers: int, packed: bool | None = None) -> None:
        """``packed``: oneDNN's packed GEMM (True) or torch's BLAS (False, float32 only); None: the
        kernel measured fastest on this CPU (:func:`packs_float32`; bfloat16 always packs)."""
        import torch

        self.model = model
        self.n_layers = n_layers
        self.has_pooler = bool(getattr(model, "_nlu_lite_pooler_trained", False))
        self.dtype = dtype if dtype is not None else torch.float32
        if packed is None:
            packed = self.dtype != torch.float32 or packs_float32()
        if not packed and self.dtype != torch.float32:
            raise ValueError(f"torch's BLAS kernels are float32 here, not {self.dtype}")
        self.engine = ENGINES[packed]
        layout = _layout(model)
        activation = _ACTIVATIONS[_activation(model.config)]
        with torch.no_grad():
            self.layers = [
                _Layer(_parts(layout, layer), self.dtype, activation, packed) for layer in _layer_list(model)
            ]
        self.project = families.lookup(model, layout.projection)  # ELECTRA's embedding → hidden size
        self.embeddings = families.follow(model, layout.embeddings)
        self.tables = _embedding_tables(layout, self.embeddings)
        # MPNet adds a relative position bias, one per head, to the attention scores
        self.position_bias = families.follow(model, layout.position_bias) if layout.position_bias else None
        self.pooler = families.lookup(model, layout.pooler)
        self.last_layer: Any = _layer_list(model)[-1]  # None: no selected-positions forward

    @property
    def selects(self) -> bool:
        return self.last_layer is not None

    def _embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        import torch

        if self.tables is not None:  # BERT's and ELECTRA's sum, in their order, without the module's steps
            words, types, positions, norm = self.tables
            length = input_ids.shape[1]
            summed = torch.nn.functional.embedding(input_ids, words).add_(types[:length]).add_(positions[:length])
            hidden = norm(summed)
        else:
            hidden = self.embeddings(input_ids=input_ids)
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
        if self.pooler is None:  # has_pooler is never true then: the model has no pooler to train
            raise ValueError("this model's family has no pooler")
        return self.pooler(first[:, None, :].float())

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

    reason = unsupported(model, device, n_layers, dtype)
    if reason is None:
        try:
            float32 = dtype is None or dtype == torch.float32
            checked = FusedRunner(model, None, n_layers, None if float32 else True)
            if not _agrees(checked, model):
                reason = "its states differ from the transformers forward on a test batch"
            elif float32:
                return checked
            else:
                return FusedRunner(model, dtype, n_layers)
        except (RuntimeError, AttributeError, TypeError, ValueError) as exc:  # an unexpected module layout
            reason = f"{type(exc).__name__}: {exc}"
    logger.info("%s runs on the plain torch forward, not the fused engine: %s", name, reason)
    return None
