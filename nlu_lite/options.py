"""predict()'s options in one home: their vocabularies, one frozen object validated once, and
the table that ``print_info``, the CLI, the docs and provenance are checked against.

Adding an option: a row in :data:`OPTION_TABLE` (the list every other place is tested against),
a field on :class:`PredictOptions` with its check, and its key in :class:`NluLiteOptions`;
predict(), predict_iter() and predict_to_parquet() take it and hand it down in the options object.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, TypedDict

from nlu_lite.errors import InvalidOptionError

Task = Literal["embed", "embed_sentence", "classify", "sentiment", "ner", "pos"]
OutputLevel = Literal["token", "sub_token", "sentence", "document", "chunk"]
SentencePooling = Literal["mean", "cls", "pooler", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]
WordPooling = Literal["first", "mean", "last"]
LayerCombine = Literal["mean", "sum", "concat"]
EmbeddingFormat = Literal["array", "expand", "numpy"]
Errors = Literal["raise", "coerce"]

# the registry task values (nlu_lite.tasks.base.TASKS: the task that serves each)
TASKS: tuple[str, ...] = ("embed", "embed_sentence", "classify", "sentiment", "ner", "pos")
# the output levels; each is built by nlu_lite.tasks.embeddings (LEVELS there has one row per name here)
OUTPUT_LEVELS: tuple[str, ...] = ("token", "sub_token", "sentence", "document", "chunk")
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
# the output layout: nlu_lite's own, or NLU 5's (nlu_lite.nlu.layout)
CONVENTION_ENV_VAR = "NLU_LITE_CONVENTION"
CONVENTIONS: tuple[str, ...] = ("nlu_lite", "nlu5")


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


def resolve_convention(value: str | None) -> str:
    """The convention in force: the one asked for, else ``NLU_LITE_CONVENTION``, else nlu_lite's."""
    source = "convention"
    if value is None:
        value, source = os.environ.get(CONVENTION_ENV_VAR, "").strip() or "nlu_lite", CONVENTION_ENV_VAR
    if value not in CONVENTIONS:
        raise InvalidOptionError(source, value, CONVENTIONS)
    return value


@dataclass(frozen=True)
class PredictOptions:
    """Every predict() option, validated once when built, then handed down unchanged (to the
    task, the encoder, each chunk of a streaming call, Dask and Spark workers).  Model-specific
    checks (layer ranges, prompt names, prompts at the level in force) are the task's, which
    knows the models.  Build one from predict()'s keywords with :meth:`create`."""

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
    # NLU 5's layout (nlu_lite.nlu.layout); None: NLU_LITE_CONVENTION, else nlu_lite's own
    convention: str | None = None
    tokenizer: str | None = None  # None: 'spark_nlp' under convention='nlu5', else 'model'
    index_column: str | None = None  # the column of Spark input that plays the index's part

    @classmethod
    def create(
        cls,
        *,
        keep_stranger_features: bool | None = None,
        multithread: bool = True,
        parser_output: bool = False,
        parser_config: Any = None,
        **given: Any,
    ) -> PredictOptions:
        """The options of predict()'s keywords, NLU's included: its parser keywords refused,
        ``keep_stranger_features`` as ``keep_columns``, ``multithread`` accepted with no effect
        (nlu_lite has no LightPipeline), the output path a string.  An unknown keyword is a
        TypeError, as for any Python call."""
        if parser_output or parser_config:
            raise InvalidOptionError(
                "parser_output",
                parser_output or parser_config,
                "False: NLU's parser output is for dependency parsers; embeddings have none "
                "(not applicable to embeddings)",
            )
        if keep_stranger_features is not None:
            given["keep_columns"] = bool(keep_stranger_features)
        if given.get("output_path") is not None:
            given["output_path"] = os.fspath(given["output_path"])
        return cls(**given)

    def __post_init__(self) -> None:
        self._settle_defaults()
        for name, (allowed, optional) in _CHOICES.items():
            value = getattr(self, name)
            if not (optional and value is None) and value not in allowed:
                raise InvalidOptionError(name, value, allowed)
        self._check_values()
        if self.convention == "nlu5" and self.embedding_format != "array":
            raise InvalidOptionError("embedding_format", self.embedding_format, "'array' with convention='nlu5'")

    def _settle_defaults(self) -> None:
        """NLU's '' for "the default", the layers as an int or a tuple, the convention and the
        tokenizer in force."""
        if self.output_level == "":  # NLU's default: the model's own level
            object.__setattr__(self, "output_level", None)
        if self.output_path == "":  # NLU's default: no file
            object.__setattr__(self, "output_path", None)
        object.__setattr__(self, "layers", _layers(self.layers))
        convention = resolve_convention(self.convention)
        object.__setattr__(self, "convention", convention)
        if self.tokenizer is None:
            object.__setattr__(self, "tokenizer", "spark_nlp" if convention == "nlu5" else "model")

    def _check_values(self) -> None:
        """The options that are not one of a vocabulary: numbers, callables, names."""
        if self.prompt is not None and not isinstance(self.prompt, str):
            raise InvalidOptionError("prompt", self.prompt, "None or a prompt name such as 'query'")
        if self.sentence_splitter is not None and not callable(self.sentence_splitter):
            raise InvalidOptionError("sentence_splitter", self.sentence_splitter, "a callable text -> sentences")
        for name in ("token_budget", "partition", "batch_size"):
            value = getattr(self, name)
            if value is not None or name == "batch_size":
                _positive_int(name, value)
        overlap = self.overlap
        if isinstance(overlap, bool) or not isinstance(overlap, numbers.Real) or not 0.0 <= float(overlap) < 1.0:
            raise InvalidOptionError("overlap", overlap, "a fraction in [0, 1)")

    def level_for(self, default: str) -> str:
        """The output level in force: the asked one, else the model's default."""
        return self.output_level or default

    def as_kwargs(self) -> dict[str, Any]:
        """The options as predict() keywords (what Dask and Spark workers are handed: their
        partitions are pandas, so without ``index_column``)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "index_column"}
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


# the options that take one of a vocabulary: name -> (the vocabulary, whether None is allowed)
_CHOICES: dict[str, tuple[tuple[str, ...], bool]] = {
    "output_level": (OUTPUT_LEVELS, True),
    "pooling": (SENTENCE_POOLINGS, True),
    "word_pooling": (WORD_POOLINGS, True),
    "layer_combine": (LAYER_COMBINES, False),
    "embedding_format": (EMBEDDING_FORMATS, False),
    "errors": (ERRORS, False),
    "tokenizer": (TOKENIZERS, False),
}


class NluLiteOptions(TypedDict, total=False):
    """predict()'s keyword-only options (nlu_lite's own), for editors and type checkers."""

    pooling: str | None
    word_pooling: str | None
    layers: int | Sequence[int]
    layer_combine: LayerCombine
    sentence_splitter: Callable[[str], Any] | None
    prompt: str | None
    embedding_format: EmbeddingFormat
    text_column: Hashable | None
    keep_columns: bool
    errors: Errors
    token_budget: int | None
    batch_size: int
    overlap: float
    progress: bool | None
    index_column: str | None
    convention: str | None
    tokenizer: str | None


class StreamOptions(NluLiteOptions, total=False):
    """The options of predict_iter() and predict_to_parquet(): predict()'s, less ``output_path``
    and ``return_spark_df`` (which would act on each chunk alone)."""

    output_level: str | None
    positions: bool
    keep_stranger_features: bool | None
    metadata: bool
    multithread: bool
    drop_irrelevant_cols: bool
    get_embeddings: bool
    parser_output: bool
    parser_config: Any
    partition: int | None


# Every option of predict(), once: name, values, default as shown (``...``: PredictOptions' own
# default; None: the first model's, filled in by print_info).  predict()'s signature, the typed
# keywords of predict_iter()/predict_to_parquet(), print_info, the CLI and docs/options.md are
# tested against this list.
OPTION_TABLE: tuple[tuple[str, Sequence[Any] | str, Any], ...] = (
    ("output_level", OUTPUT_LEVELS, None),
    ("positions", (False, True), ...),
    ("pooling", SENTENCE_POOLINGS, None),
    ("word_pooling", WORD_POOLINGS, None),
    ("layers", "-1, any index (0 = embeddings), or a list", ...),
    ("layer_combine", LAYER_COMBINES, ...),
    ("sentence_splitter", "None (rule-based) or a callable text -> sentences", ...),
    ("prompt", "None, 'query', 'passage', or a prompt name from the model's files", ...),
    ("metadata", (False, True), ...),
    ("embedding_format", EMBEDDING_FORMATS, ...),
    ("text_column", "a DataFrame column", ...),
    ("keep_columns", (True, False), ...),
    ("errors", ERRORS, ...),
    ("token_budget", "padded positions per batch", "2048 on CPU, 65536 on GPU"),
    ("batch_size", "windows per batch at most", ...),
    ("overlap", "fraction of a window shared with the next", ...),
    ("progress", (None, True, False), "None (a bar when work looks longer than 2 s)"),
    ("output_path", "a .parquet, .csv or .jsonl path the result is also written to (atomically)", ...),
    ("keep_stranger_features", "NLU's name for keep_columns", True),
    ("drop_irrelevant_cols", "(True, False): False adds the input text as a 'document' column", ...),
    ("get_embeddings", (True, False), ...),
    ("return_spark_df", "(False, True): a Spark DataFrame (pyspark) instead of pandas", ...),
    ("partition", "Spark/Dask partitions to spread the work over (input partitions when None)", None),
    ("index_column", "a column of Spark input that plays the index's part (Spark has no index)", ...),
    ("multithread", "NLU's LightPipeline switch: accepted, no effect", True),
    ("parser_output", "NLU's dependency-parser output: refused (nlu_lite has no parser)", False),
    ("parser_config", "NLU's dependency-parser settings: refused (nlu_lite has no parser)", None),
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
    for name, values, shown in OPTION_TABLE:
        default = option_default(name) if shown is ... else shown
        listed = values if isinstance(values, str) else ", ".join(repr(v) for v in values)
        lines.append(f"  {name:<18} {listed}  (default: {defaults.get(name, default)!r})")
    return lines


def option_default(name: str) -> Any:
    """The default of an option that is a PredictOptions field."""
    return {f.name: f.default for f in fields(PredictOptions)}[name]


def options_doc(indent: int = 0) -> str:
    """Every option as docstring lines (appended to predict()'s, predict_iter()'s and
    predict_to_parquet()'s, so that ``help()`` lists them all)."""
    pad = " " * indent
    return "\n" + "\n".join(pad + line.strip() for line in describe_options({})) + "\n" + pad
