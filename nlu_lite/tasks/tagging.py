"""Token classification: a tag and its confidence per word (NER, part of speech, other taggers),
and for IOB/BIOES taggers one row per entity (``output_level='chunk'``).

Token rows are the embeddings' (the first model's words, or Spark NLP's tokens under
``tokenizer='spark_nlp'``), long texts in the model's windows, each piece's logits from the window
that holds it most centrally.  Each word's tag is taken from its **first** piece, as Spark NLP and
transformers' ``aggregation_strategy='first'`` do; its confidence is the softmax probability of
that tag at that piece.

Chunks are the IOB merge NLU's converter (Spark NLP's ``NerConverter``) performs over the words
of one sentence: a ``B-``/``S-``/``U-`` tag or an ``O`` ends the chunk before it, an ``I-``/``E-``/``L-``
tag continues the chunk in progress whatever its type (transformers' ``aggregation_strategy=
'simple'`` would start a new entity at an ``I-`` of another type) and starts one where none is in
progress.  A chunk's class is its first word's, its text is the input exactly as written from its
first word's start to its last word's end, and its confidence is the mean of its words'
confidences.  Chunks are merged after every window's tags are in place, so none is lost or
split at a window boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.engine.encoder import Encoder
from nlu_lite.errors import InvalidOptionError
from nlu_lite.frames.output import FrameParts, assemble
from nlu_lite.options import PredictOptions
from nlu_lite.tasks.classification import class_names, column_name, scores, top_labels
from nlu_lite.tasks.embeddings import rows_and_states
from nlu_lite.tasks.levels import Level, Plan, Spans, lay_out_rows

if TYPE_CHECKING:
    from nlu_lite.tasks.base import FrameContext, ProgressFor

# tag prefixes of the chunk schemes (IOB, IOB2, BIOES, BILOU): which start a chunk, which go on
_STARTS = ("B", "S", "U")
_GOES_ON = ("I", "E", "L")
_ENDS_AFTER = ("E", "L", "S", "U")


class TokenClassification:
    """Token classifiers (registry tasks ``ner`` and ``pos``)."""

    name = "token classification"
    kinds: tuple[str, ...] = ("ner", "pos")
    head = "AutoModelForTokenClassification"
    levels: tuple[str, ...] = ("token", "chunk")

    def check(self, level: str, encoders: Sequence[Encoder], options: PredictOptions) -> None:
        """Embedding options have no meaning for a tagger's head; chunks need one IOB tagger."""
        for name, default in (("pooling", None), ("prompt", None), ("layers", -1)):
            if getattr(options, name) != default:
                raise InvalidOptionError(name, getattr(options, name), f"{default!r} for a tagger (its head decides)")
        if options.word_pooling not in (None, "first"):
            raise InvalidOptionError("word_pooling", options.word_pooling, "'first': a word's tag is its first piece's")
        if options.embedding_format != "array":
            raise InvalidOptionError("embedding_format", options.embedding_format, "'array' for a tagger")
        if options.convention == "nlu5":
            raise InvalidOptionError(
                "convention", "nlu5", "'nlu_lite' for taggers: NLU's layout is given for embeddings only so far"
            )
        if level == "chunk":
            _check_chunk_models(encoders)

    def run(self, plan: Plan, encoders: Sequence[Encoder], compute: bool, progress: ProgressFor) -> Level:
        """Token rows with each model's tag and confidence; at chunk level, the first model's
        entities."""
        token_plan = plan if plan.level == "token" else replace(plan, level="token")
        options = replace(plan.options, word_pooling="first", metadata=plan.options.metadata and plan.level == "token")
        done = rows_and_states(replace(token_plan, options=options), encoders, compute, progress)
        tags: dict[str, Tags] = {}
        for enc in encoders if compute else []:
            logits, has = done.vectors.pop(enc.entry.column)
            tags[column_name(enc)] = Tags.of(enc, logits, has)
        if plan.level == "chunk":
            return _chunk_level(plan, done, next(iter(tags.items())) if tags else None)
        for stem, found in tags.items():
            done.extra[f"{stem}_label"] = found.label
            done.extra[f"{stem}_confidence"] = found.confidence
        return done

    def frame(self, parts: FrameParts, done: Level, context: FrameContext) -> Any:
        return assemble(parts)


@dataclass(frozen=True)
class Tags:
    """One model's tag and confidence for each row (None / NaN for a row without one)."""

    label: np.ndarray  # (R,) object: the tag name, None where the row has none
    confidence: np.ndarray  # (R,) float64

    @classmethod
    def of(cls, enc: Encoder, logits: np.ndarray, has: np.ndarray) -> Tags:
        return cls(*top_labels(class_names(enc.model), scores(logits, multi_label=False), has))


def _check_chunk_models(encoders: Sequence[Encoder]) -> None:
    if len(encoders) != 1:
        raise InvalidOptionError(
            "output_level", "chunk", "'token' with several taggers (each gives its own entities): load them apart"
        )
    names = class_names(encoders[0].model)
    odd = [n for n in names if n != "O" and not (len(n) > 2 and n[1] in "-_" and n[0] in _STARTS + _GOES_ON)]
    if odd:
        raise InvalidOptionError(
            "output_level",
            "chunk",
            f"'token': the tags of {encoders[0].entry.spelling!r} are not IOB/BIOES ({', '.join(odd[:5])}), "
            "so they make no chunks",
        )


def merge_chunks(tags: Sequence[str | None], breaks: np.ndarray) -> list[tuple[int, int, str]]:
    """The chunks of a run of words as (first word, last word, class), by NerConverter's IOB
    merge (see the module docstring); ``breaks[i]``: word ``i`` starts a new sentence or input,
    so no chunk goes on across it.  A word without a tag (None) ends the chunk in progress."""
    chunks: list[tuple[int, int, str]] = []
    start, kind = -1, ""
    for i, tag in enumerate(tags):
        prefix, _, cls = (tag or "O").replace("_", "-", 1).partition("-")
        if start >= 0 and (breaks[i] or tag is None or tag == "O" or prefix in _STARTS):
            chunks.append((start, i - 1, kind))
            start = -1
        if tag is None or tag == "O":
            continue
        if start < 0:
            start, kind = i, cls
        if prefix in _ENDS_AFTER:
            chunks.append((start, i, kind))
            start = -1
    if start >= 0:
        chunks.append((start, len(tags) - 1, kind))
    return chunks


def _chunk_level(plan: Plan, tokens: Level, tagged: tuple[str, Tags] | None) -> Level:
    """One row per chunk (entity) of the first model's tags, in input order; an input without a
    chunk keeps one empty row."""
    rows = tokens.rows
    word_rows = rows.of_item  # token rows that hold a word, in order
    sentence = tokens.extra["sentence_id"][word_rows]
    inputs = rows.input[word_rows]
    breaks = np.ones(len(word_rows), dtype=bool)
    breaks[1:] = (inputs[1:] != inputs[:-1]) | (sentence[1:] != sentence[:-1])
    stem, found = tagged if tagged is not None else ("", None)
    labels = found.label[word_rows].tolist() if found is not None else [None] * len(word_rows)
    chunks = merge_chunks(labels, breaks)
    first = np.asarray([c[0] for c in chunks], dtype=np.int64)
    last = np.asarray([c[1] for c in chunks], dtype=np.int64)
    begin, end = rows.begin[word_rows][first], rows.end[word_rows][last]
    items = Spans(rows.item_unit[first], begin, end)
    out_rows = lay_out_rows(len(plan.texts), inputs[first], items)
    done = Level(out_rows, plan.row_text(out_rows, items))
    done.extra["sentence_id"] = np.full(out_rows.n, -1, dtype=np.int64)
    done.extra["sentence_id"][out_rows.of_item] = sentence[first]
    if found is not None:
        conf = found.confidence[word_rows]
        sums = np.concatenate([[0.0], np.cumsum(conf)])
        label = np.full(out_rows.n, None, dtype=object)
        label[out_rows.of_item] = np.asarray([c[2] for c in chunks], dtype=object)
        mean = np.full(out_rows.n, np.nan)
        mean[out_rows.of_item] = (sums[last + 1] - sums[first]) / (last - first + 1)
        done.extra[f"{stem}_label"], done.extra[f"{stem}_confidence"] = label, mean
    return done
