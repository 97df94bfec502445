"""predict()'s options in one home: their vocabularies, one frozen object validated once, and
the table that ``print_info``, the CLI, provenance and the Dask/Spark hand-off all read.

Adding an option: a field on :class:`PredictOptions`, a row in :data:`OPTION_TABLE`, and its
check in ``__post_init__``; predict() takes it as a keyword and passes it on.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from nlu_lite.conventions import resolve_convention
from nlu_lite.errors import InvalidOptionError

Task = Literal["embed", "embed_sentence"]
OutputLevel = Literal["token", "sub_token", "sentence", "document"]
SentencePooling = Literal["mean", "cls", "pooler", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]
WordPooling = Literal["first", "mean", "last"]
LayerCombine = Literal["mean", "sum", "concat"]
EmbeddingFormat = Literal["array", "expand", "numpy"]
Errors = Literal["raise", "coerce"]

TASKS: tuple[str, ...] = ("embed", "embed_sentence")
# the output levels; each is built by nlu_lite.levels (LEVELS there has one row per name here)
OUTPUT_LEVELS: tuple[str, ...] = ("token", "sub_token", "sentence", "document")
# sentence-transformers' names for the last three (its Pooling modes), computed as it computes them
SENTENCE_POOLINGS: tuple[str, ...] = (
    *("mean", "cls", "pooler", "max"),
    *("mean_sqrt_len_tokens", "weightedmean", "lasttoken"),
)
WORD_POOLINGS: tuple[str, ...] = ("first", "mean", "last")
LAYER_COMBINES: tuple[str, ...] = ("mean", "sum", "concat")
EMBEDDING_FORMATS: tuple[str, ...] = ("array", "expand", "numpy")
ERRORS: tuple[str, ...] = ("raise", "coerce")
# what makes token rows: the model tokenizer's own words, or Spark NLP's default Tokenizer (NLU's)
TOKENIZERS: tuple[str, ...] = ("model", "spark_nlp")
DEFAULT_BATCH_SIZE = 256


def _positive_int(name: str, value: Any) -> None:
    if not is_int(value) or value < 1:
        raise InvalidOptionError(name, value, "a positive int")


def is_int(value: Any) -> bool:
    """An int, numpy's too (not a bool): what an option or a character offset counts as."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and type(value).__name__ != "bool_"


def _layers(value: Any) -> Any:
    """-1, an index, or a non-empty list of indices (checked against the model by the encoder).  A
    set or a dict has no order for layer_combine='concat', an iterator would be used up: refused."""
    if is_int(value):
        return int(value)
    if isinstance(value, (list, tuple, range)) or type(value).__name__ == "ndarray":
        items = tuple(value.tolist() if hasattr(value, "tolist") else value)
        if items and all(is_int(v) for v in items):
            return tuple(int(v) for v in items)
    raise InvalidOptionError("layers", value, "an int or a non-empty list of ints")


@dataclass(frozen=True)
class PredictOptions:
    """Every predict() option, validated once when built (model-specific checks such as layer
    ranges, prompt names and prompts at the level in force happen in the pipeline, which knows
    the models)."""

    output_level: str | None = None  # None: the first model's registry default
    positions: bool = False
    pooling: str | None = None  # None: each model's own
    word_pooling: str | None = None  # None: each model's own
    layers: int | Sequence[int] = -1  # kept as an int or a tuple
    layer_combine: LayerCombine = "mean"
    sentence_splitter: Callable[[str], Any] | None = None
    prompt: str | None = None
    metadata: bool = False
    embedding_format: str = "array"
    text_column: Hashable | None = None
    keep_columns: bool = True
    errors: Errors = "raise"
    token_budget: int | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    overlap: float = 0.25
    progress: bool | None = None
    # NLU's keywords (see nlu_lite.pipeline.Pipeline.predict and docs/migration.md)
    output_path: str | None = None
    drop_irrelevant_cols: bool = True
    get_embeddings: bool = True
    return_spark_df: bool = False
    partition: int | None = None
    # NLU 5's layout (nlu_lite.conventions); None: NLU_LITE_CONVENTION, else nlu_lite's own
    convention: str | None = None
    tokenizer: str | None = None  # None: 'spark_nlp' under convention='nlu5', else 'model'

    def __post_init__(self) -> None:
        if self.output_level == "":  # NLU's default: the model's own level
            object.__setattr__(self, "output_level", None)
        for name, allowed in (
            ("output_level", OUTPUT_LEVELS),
            ("pooling", SENTENCE_POOLINGS),
            ("word_pooling", WORD_POOLINGS),
        ):
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise InvalidOptionError(name, value, allowed)
        for name, allowed in (
            ("layer_combine", LAYER_COMBINES),
            ("embedding_format", EMBEDDING_FORMATS),
            ("errors", ERRORS),
        ):
            if getattr(self, name) not in allowed:
                raise InvalidOptionError(name, getattr(self, name), allowed)
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise InvalidOptionError("prompt", self.prompt, "None or a prompt name such as 'query'")
        if self.sentence_splitter is not None and not callable(self.sentence_splitter):
            raise InvalidOptionError("sentence_splitter", self.sentence_splitter, "a callable text -> sentences")
        object.__setattr__(self, "layers", _layers(self.layers))
        if self.token_budget is not None:
            _positive_int("token_budget", self.token_budget)
        if self.partition is not None:
            _positive_int("partition", self.partition)
        if self.output_path == "":  # NLU's default: no file
            object.__setattr__(self, "output_path", None)
        _positive_int("batch_size", self.batch_size)
        overlap = self.overlap
        if isinstance(overlap, bool) or not isinstance(overlap, numbers.Real) or not 0.0 <= float(overlap) < 1.0:
            raise InvalidOptionError("overlap", overlap, "a fraction in [0, 1)")
        convention = resolve_convention(self.convention)
        object.__setattr__(self, "convention", convention)
        if self.tokenizer is None:
            object.__setattr__(self, "tokenizer", "spark_nlp" if convention == "nlu5" else "model")
        if self.tokenizer not in TOKENIZERS:
            raise InvalidOptionError("tokenizer", self.tokenizer, TOKENIZERS)
        if convention == "nlu5" and self.embedding_format != "array":
            raise InvalidOptionError("embedding_format", self.embedding_format, "'array' with convention='nlu5'")

    def level_for(self, default: str) -> str:
        """The output level in force: the asked one, else the model's default."""
        return self.output_level or default

    def as_kwargs(self) -> dict[str, Any]:
        """The options as predict() keywords (what Dask and Spark workers are handed)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if isinstance(self.layers, tuple):
            out["layers"] = list(self.layers)
        return out

    def provenance(self) -> dict[str, Any]:
        """The options that shape the numbers, for ``df.attrs``."""
        layers = self.layers
        return {
            "layers": [int(x) for x in layers] if isinstance(layers, Sequence) else int(layers),
            "layer_combine": self.layer_combine,
            "prompt": self.prompt,
            "convention": self.convention,
            "tokenizer": self.tokenizer,
        }


# name, values, default as shown by print_info (the first model's defaults fill the None ones)
OPTION_TABLE: tuple[tuple[str, Sequence[Any] | str, Any], ...] = (
    ("output_level", OUTPUT_LEVELS, None),
    ("positions", (False, True), False),
    ("pooling", SENTENCE_POOLINGS, None),
    ("word_pooling", WORD_POOLINGS, None),
    ("layers", "-1, any index (0 = embeddings), or a list", -1),
    ("layer_combine", LAYER_COMBINES, "mean"),
    ("sentence_splitter", "None (rule-based) or a callable text -> sentences", None),
    ("prompt", "None, 'query', 'passage', or a prompt name from the model's files", None),
    ("metadata", (False, True), False),
    ("embedding_format", EMBEDDING_FORMATS, "array"),
    ("text_column", "a DataFrame column", None),
    ("keep_columns", (True, False), True),
    ("errors", ERRORS, "raise"),
    ("token_budget", "padded positions per batch", "2048 on CPU, 65536 on GPU"),
    ("batch_size", "windows per batch at most", DEFAULT_BATCH_SIZE),
    ("overlap", "fraction of a window shared with the next", 0.25),
    ("progress", (None, True, False), "None (a bar when work looks longer than 2 s)"),
    ("output_path", "a .parquet, .csv or .jsonl path the result is also written to (atomically)", None),
    ("keep_stranger_features", "NLU's name for keep_columns", True),
    ("drop_irrelevant_cols", "(True, False): False adds the input text as a 'document' column", True),
    ("get_embeddings", (True, False), True),
    ("return_spark_df", "(False, True): a Spark DataFrame (pyspark) instead of pandas", False),
    ("partition", "Spark/Dask partitions to spread the work over (input partitions when None)", None),
    ("multithread", "NLU's LightPipeline switch: accepted, no effect", True),
    (
        "convention",
        "('nlu_lite', 'nlu5'): NLU 5's column names, positions and layout",
        "$NLU_LITE_CONVENTION or 'nlu_lite'",
    ),
    (
        "tokenizer",
        "('model', 'spark_nlp'): token rows from the model's words or Spark NLP's Tokenizer",
        "'model' ('spark_nlp' under nlu5)",
    ),
)


def describe_options(defaults: dict[str, Any]) -> list[str]:
    """Lines for print_info: every option, its values and its default (model defaults filled in)."""
    lines = []
    for name, values, default in OPTION_TABLE:
        shown = values if isinstance(values, str) else ", ".join(repr(v) for v in values)
        lines.append(f"  {name:<18} {shown}  (default: {defaults.get(name, default)!r})")
    return lines
