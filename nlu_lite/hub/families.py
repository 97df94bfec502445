"""Model families: what nlu_lite knows about each transformers ``config.model_type``, in one table.

Every fact that depends on a model's family lives in :data:`FAMILIES`, one :class:`Family` row per
``model_type``, in the manner of optimum's BetterTransformer table (``MODEL_MAPPING`` beside
``CAN_NOT_BE_SUPPORTED`` with the reason):

- whether the fused CPU engine (:mod:`nlu_lite.engine.fused_cpu`) serves the family, and if not
  why (``refused``, logged when a model of the family falls back to the transformers forward);
- where a served family keeps its modules (its :class:`Layout`: attribute paths of its layer list,
  of query, key, value, projections, norms and feed-forward in a layer, of its pooler), which
  both the fused engine and the hooks of :class:`~nlu_lite.engine.runner.TorchRunner` read;
- how its positions are numbered (RoBERTa's kin start after the padding index, so their position
  table holds that many fewer pieces: :func:`position_limit`);
- which config keys hold its depth and width (:func:`config_layers`, :func:`config_dimension`).

A family missing from the table is one nlu_lite knows nothing special about: it runs on the
transformers forward, its positions are counted from 0 and its sizes are read from the common
config keys.  Adding a family is one row; the tests build a tiny random model of every row and
check the engine the row promises.  Nothing here imports torch or transformers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

# the config keys of a model's depth and width, tried in order: between them, the names
# transformers' configs use (BERT's, DistilBERT's, GPT-2's, T5's)
LAYER_KEYS = ("num_hidden_layers", "n_layers", "n_layer", "num_layers")
DIMENSION_KEYS = ("hidden_size", "d_model")


@dataclass(frozen=True)
class Layout:
    """Where a post-norm encoder keeps its modules, as dotted attribute paths.

    ``layers``, ``embeddings``, ``projection``, ``position_bias`` and ``pooler`` are read from the
    model, the others from one of its layers.  A family with a layout promises that
    ``hidden_states[i]`` is exactly the output of layer module ``i - 1`` (no final norm), and that
    a layer is: attention (query, key, value, ``attention_out``), residual, ``attention_norm``,
    feed-forward (``intermediate`` with the activation, ``out``), residual, ``out_norm``.  The
    defaults are BERT's paths.
    """

    layers: str = "encoder.layer"
    query: str = "attention.self.query"
    key: str = "attention.self.key"
    value: str = "attention.self.value"
    attention_out: str = "attention.output.dense"
    attention_norm: str = "attention.output.LayerNorm"
    intermediate: str = "intermediate.dense"
    out: str = "output.dense"
    out_norm: str = "output.LayerNorm"
    heads: str = "attention.self.num_attention_heads"
    head_size: str = "attention.self.attention_head_size"
    activation: str = "hidden_act"  # the config key naming the feed-forward's activation
    embeddings: str = "embeddings"
    # its embeddings are word + token type + position rows summed, then a layer norm (BERT's
    # ``word_embeddings``, ``token_type_embeddings``, ``position_embeddings``, ``LayerNorm``), so
    # the fused engine reads them as tables once; otherwise it runs the embeddings module
    summed_embeddings: bool = False
    projection: str | None = None  # a linear from the embedding size to the hidden size (ELECTRA)
    position_bias: str | None = None  # a function of the mask giving a per-head relative position bias (MPNet)
    pooler: str | None = "pooler"  # the pooler over the first position, where the family has one


@dataclass(frozen=True)
class Family:
    """The facts of one ``model_type``: exactly one of ``layout`` (the fused engine serves it, and
    the torch runner hooks its layers) and ``refused`` (why neither does) is given."""

    model_type: str
    layout: Layout | None = None
    refused: str | None = None
    positions_after_padding: bool = False  # position ids run padding_idx + 1 … (RoBERTa's scheme)
    layer_keys: tuple[str, ...] = LAYER_KEYS
    dimension_keys: tuple[str, ...] = DIMENSION_KEYS

    def __post_init__(self) -> None:
        if (self.layout is None) == (self.refused is None):
            raise ValueError(f"family {self.model_type!r}: give a layout or the reason it is refused, not both")


_ROBERTA = Layout()  # BERT's layers; embeddings with padding-aware positions, run as a module
_BERT = Layout(summed_embeddings=True)
_ELECTRA = Layout(summed_embeddings=True, projection="embeddings_project", pooler=None)
_DISTILBERT = Layout(
    layers="transformer.layer",
    query="attention.q_lin",
    key="attention.k_lin",
    value="attention.v_lin",
    attention_out="attention.out_lin",
    attention_norm="sa_layer_norm",
    intermediate="ffn.lin1",
    out="ffn.lin2",
    out_norm="output_layer_norm",
    heads="attention.n_heads",
    head_size="attention.attention_head_size",
    activation="activation",
    pooler=None,
)
_MPNET = Layout(
    query="attention.attn.q",
    key="attention.attn.k",
    value="attention.attn.v",
    attention_out="attention.attn.o",
    attention_norm="attention.LayerNorm",
    heads="attention.attn.num_attention_heads",
    head_size="attention.attn.attention_head_size",
    position_bias="encoder.compute_position_bias",
)

# why the fused engine refuses a family: what in its layers the post-norm walk does not compute
_PRE_NORM = "pre-layer-norm layers (a norm before attention and feed-forward); the fused walk is post-norm"
_DISENTANGLED = "disentangled attention (content and relative-position terms), not plain dot-product attention"
_UNCHECKED = "RoBERTa's layers, but not yet checked against the fused engine"
_QUANTISED = "integer-only quantised modules (QuantLinear, IntGELU, IntLayerNorm)"
_SLIDING = "sliding-window attention with global tokens, not full self-attention"
_ENTITIES = "entity embeddings and entity-aware attention"
_XPATH = "XPath tag and subscript embeddings added to each token's"
_LAYOUT_STREAM = "a second, layout (bounding box) stream mixed into attention"


def _table(*rows: Family) -> Mapping[str, Family]:
    """The rows by model_type, read-only (a model_type given twice is an error, not a silent override)."""
    table = {row.model_type: row for row in rows}
    if len(table) != len(rows):
        raise ValueError("a model_type has two rows")
    return MappingProxyType(table)


FAMILIES: Mapping[str, Family] = _table(
    Family("bert", _BERT),
    Family("roberta", _ROBERTA, positions_after_padding=True),
    Family("xlm-roberta", _ROBERTA, positions_after_padding=True),
    Family("camembert", _ROBERTA, positions_after_padding=True),
    Family("electra", _ELECTRA),
    Family("distilbert", _DISTILBERT, layer_keys=("n_layers",), dimension_keys=("dim",)),
    Family("mpnet", _MPNET, positions_after_padding=True),
    Family("data2vec-text", refused=_UNCHECKED, positions_after_padding=True),
    Family("roberta-prelayernorm", refused=_PRE_NORM, positions_after_padding=True),
    Family("xlm-roberta-xl", refused=_PRE_NORM, positions_after_padding=True),
    Family("ibert", refused=_QUANTISED, positions_after_padding=True),
    Family("longformer", refused=_SLIDING, positions_after_padding=True),
    Family("luke", refused=_ENTITIES, positions_after_padding=True),
    Family("markuplm", refused=_XPATH, positions_after_padding=True),
    Family("lilt", refused=_LAYOUT_STREAM, positions_after_padding=True),
    Family("deberta", refused=_DISENTANGLED),
    Family("deberta-v2", refused=_DISENTANGLED),
)

# the families the fused engine serves, with their layouts, and those it refuses, with the reason
# (optimum's names for the same two tables)
MODEL_MAPPING: Mapping[str, Layout] = MappingProxyType(
    {t: f.layout for t, f in FAMILIES.items() if f.layout is not None}
)
CAN_NOT_BE_SUPPORTED: Mapping[str, str] = MappingProxyType(
    {t: f.refused for t, f in FAMILIES.items() if f.refused is not None}
)


def family(config: Any) -> Family | None:
    """The row of ``config.model_type``, or None for a family the table does not know."""
    return FAMILIES.get(getattr(config, "model_type", None) or "")


def layout(config: Any) -> Layout | None:
    """Where the model's modules are, for a family whose layers nlu_lite knows (else None)."""
    row = family(config)
    return row.layout if row is not None else None


def refusal(config: Any) -> str | None:
    """Why the fused engine does not run this config's family, or None where it does."""
    row = family(config)
    model_type = getattr(config, "model_type", None)
    if row is None:
        return f"model type {model_type!r} is not a post-norm encoder it knows"
    if row.refused is not None:
        return f"model type {model_type!r}: {row.refused}"
    return None


def follow(obj: Any, path: str) -> Any:
    """The attribute at a dotted ``path`` of ``obj`` (AttributeError where it is missing)."""
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


def lookup(obj: Any, path: str | None) -> Any:
    """The attribute at a dotted ``path`` of ``obj``, or None (no path, or nothing there)."""
    if path is None:
        return None
    try:
        return follow(obj, path)
    except AttributeError:
        return None


def config_dimension(config: Any) -> int | None:
    """The model's hidden size, as its config names it (the first key that is set)."""
    row = family(config)
    value = None
    for key in row.dimension_keys if row is not None else DIMENSION_KEYS:
        value = getattr(config, key, None)
        if value:
            return value
    return value


def config_layers(config: Any) -> int | None:
    """The model's number of transformer layers, as its config names it."""
    row = family(config)
    for key in row.layer_keys if row is not None else LAYER_KEYS:
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def positions_after_padding(config: Any) -> bool:
    """Does the family number positions from the padding index + 1 (RoBERTa's scheme)?"""
    row = family(config)
    return row is not None and row.positions_after_padding


def position_limit(config: Any, model: Any = None) -> int:
    """The longest input the model's position embeddings allow (0: no limit stated).  Where the
    positions start after the padding index (RoBERTa and its kin: the position table has a
    ``padding_idx``), that many fewer: the model itself says so where it is given, else its family."""
    limit = int(getattr(config, "max_position_embeddings", 0) or 0)
    if limit <= 0:
        return 0
    padding: int | None = None
    table = _position_table(model)
    if table is not None:
        padding = table.padding_idx
    elif positions_after_padding(config):
        pad = getattr(config, "pad_token_id", None)
        padding = pad if isinstance(pad, int) and pad >= 0 else 1
    if padding is not None:
        limit -= padding + 1  # ids padding+1 … limit-1
    return max(limit, 0)


def _position_table(model: Any) -> Any:
    """The model's learned absolute position embeddings (``…embeddings.position_embeddings``)."""
    if model is None:
        return None
    for name, module in model.named_modules():
        if name.endswith("embeddings.position_embeddings") and hasattr(module, "padding_idx"):
            return module
    return None
