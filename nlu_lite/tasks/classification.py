"""Text classification: a label and its confidence per sentence or document from each model
(sentiment, emotion, toxicity, spam, intent, topic, …).

One level runs as the embeddings' pooled levels do: plan the units (sentences or whole inputs),
tokenize every model once, one row per non-blank unit, each model's forward asked for its head's
logits (:class:`Need.pooled` with the ``pooler`` mode: one logit vector per window), then scores.

- **Scores** are what transformers' ``text-classification`` pipeline computes: a softmax over the
  logits, or for a multi-label model (``problem_type: multi_label_classification`` in its config)
  an independent sigmoid per class.
- **Long texts** are cut into the model's windows, as for embeddings; a unit's logits are the mean
  of its windows' logits (each window weighs the same), and the scores come from that mean.
  Nothing is truncated.
- **Columns** (nlu_lite's layout): ``<name>_label`` and ``<name>_confidence`` per model, where
  ``<name>`` is the spelling with '.' → '_'.  A single-label model gives the top class and its
  probability; a multi-label model gives the list of classes scoring at least
  :data:`MULTI_LABEL_THRESHOLD` (0.5, transformers' own cut-off for sigmoid outputs) and the
  list of their scores, highest first.  ``metadata=True`` adds one ``<name>_<class>`` score
  column per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.engine.encoder import Encoder, Need
from nlu_lite.errors import InvalidOptionError
from nlu_lite.frames.output import FrameParts, assemble
from nlu_lite.options import PredictOptions
from nlu_lite.tasks.embeddings import input_counts
from nlu_lite.tasks.levels import Level, Plan, per_row

if TYPE_CHECKING:
    from nlu_lite.tasks.base import FrameContext, ProgressFor

# a multi-label model's classes at or above this sigmoid score are its labels for a text
MULTI_LABEL_THRESHOLD = 0.5


class TextClassification:
    """Sequence classifiers (registry tasks ``classify`` and ``sentiment``)."""

    name = "text classification"
    kinds: tuple[str, ...] = ("classify", "sentiment")
    head = "AutoModelForSequenceClassification"
    levels: tuple[str, ...] = ("sentence", "document")

    def check(self, level: str, encoders: Sequence[Encoder], options: PredictOptions) -> None:
        """Embedding options have no meaning for a classifier's head: refused, not ignored."""
        for name, default in (("pooling", None), ("prompt", None), ("layers", -1), ("word_pooling", None)):
            if getattr(options, name) != default:
                raise InvalidOptionError(
                    name, getattr(options, name), f"{default!r} for a classifier (its head decides)"
                )
        if options.embedding_format != "array":
            raise InvalidOptionError("embedding_format", options.embedding_format, "'array' for a classifier")
        if options.convention == "nlu5":
            raise InvalidOptionError(
                "convention", "nlu5", "'nlu_lite' for classifiers: NLU's layout is given for embeddings only so far"
            )

    def run(self, plan: Plan, encoders: Sequence[Encoder], compute: bool, progress: ProgressFor) -> Level:
        """One row per sentence or document with each model's label and confidence."""
        rows, text = plan.unit_rows()
        done = Level(rows, text)
        ran = list(encoders) if compute else []
        pieces = [enc.tokenize(plan.units.texts, "", spans=False) for enc in ran]
        windows = None
        with progress(len(pieces[0].ids) if ran else 0) as tick:
            for k, (enc, pk) in enumerate(zip(ran, pieces, strict=True)):
                out = enc.encode(pk, Need.pooled("pooler"), plan.options, tick if k == 0 else None)
                assert out.pooled is not None and out.has_pooled is not None
                logits, has = per_row(out.pooled, out.has_pooled, rows)
                done.extra.update(label_columns(enc, logits, has, plan.options.metadata))
                windows = out.windows if windows is None else windows
        if plan.options.metadata:
            first = pieces[0] if ran else encoders[0].tokenize(plan.units.texts, "", spans=False)
            windows = windows or encoders[0].windows(first, plan.options.overlap)
            done.meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
            done.meta["pieces"][rows.of_item] = np.diff(first.unit_start)[rows.item_unit]
            input_counts(done, plan, first, windows.unit)
        return done

    def frame(self, parts: FrameParts, done: Level, context: FrameContext) -> Any:
        return assemble(parts)


def column_name(enc: Encoder) -> str:
    """The stem of a model's columns: its spelling with '.' → '_'."""
    return enc.entry.spelling.replace(".", "_")


def class_names(model: Any) -> list[str]:
    """The model's class names in logit order (its config's id2label)."""
    config = model.config
    labels = getattr(config, "id2label", None) or {}
    return [str(labels.get(i, labels.get(str(i), f"LABEL_{i}"))) for i in range(int(config.num_labels))]


def scores(logits: np.ndarray, multi_label: bool) -> np.ndarray:
    """Probabilities from logits, as transformers' pipeline computes them: a softmax over the
    classes (shifted by the maximum, in float64), or a sigmoid per class for multi-label models."""
    x = logits.astype(np.float64)
    if multi_label:
        return (1.0 / (1.0 + np.exp(-x))).astype(np.float32)
    x = x - x.max(axis=-1, keepdims=True) if len(x) else x
    e = np.exp(x)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def is_multi_label(model: Any) -> bool:
    return getattr(model.config, "problem_type", None) == "multi_label_classification"


def top_labels(names: Sequence[str], probs: np.ndarray, has: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's most probable class and its probability (None / NaN for a row without one),
    for all rows at once."""
    label = np.full(len(has), None, dtype=object)
    confidence = np.full(len(has), np.nan)
    rows = np.flatnonzero(has)
    if len(rows):
        best = probs[rows].argmax(axis=1)
        label[rows] = np.asarray(names, dtype=object)[best]
        confidence[rows] = probs[rows, best]
    return label, confidence


def _labels_above_threshold(names: Sequence[str], probs: np.ndarray, has: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A multi-label model's classes scoring at least the threshold, highest first, and their
    scores: one list per row (how many pass differs from row to row)."""
    label = np.full(len(has), None, dtype=object)
    confidence = np.full(len(has), None, dtype=object)
    passing = probs >= MULTI_LABEL_THRESHOLD
    order = np.argsort(-probs, axis=1, kind="stable")
    for r in np.flatnonzero(has).tolist():
        kept = [i for i in order[r].tolist() if passing[r, i]]
        label[r] = [names[i] for i in kept]
        confidence[r] = [float(probs[r, i]) for i in kept]
    return label, confidence


def label_columns(enc: Encoder, logits: np.ndarray, has: np.ndarray, metadata: bool) -> dict[str, np.ndarray]:
    """A model's columns for rows of logits: label and confidence (lists for a multi-label
    model), and with ``metadata`` every class's score.  A row without logits (an empty input)
    has none."""
    names = class_names(enc.model)
    multi = is_multi_label(enc.model)
    probs = scores(logits, multi)
    stem = column_name(enc)
    label, confidence = (_labels_above_threshold if multi else top_labels)(names, probs, has)
    columns: dict[str, np.ndarray] = {f"{stem}_label": label, f"{stem}_confidence": confidence}
    if metadata:
        for i, name in enumerate(names):
            columns[f"{stem}_{name}"] = np.where(has, probs[:, i], np.nan).astype(np.float32)
    return columns
