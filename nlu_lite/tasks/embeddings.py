"""The embedding task: a vector per word, word piece, sentence or document from each model.

One level runs in one direction (:meth:`Embeddings.run`): plan the units → tokenize every model
once → lay out the rows (the first model's words or pieces, Spark NLP's tokens, or one row per
sentence/document) → each model's forward (:meth:`Encoder.encode` with the :class:`Need` of the
level) → its vectors on the rows.  The first model's vectors go straight to the rows; another
model's are aligned to them by character spans (the first, last or mean of its pieces inside each
row's span).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from nlu_lite.engine.encoder import Encoded, Encoder, Need
from nlu_lite.engine.pieces import Pieces
from nlu_lite.engine.pooling import reduce_words, word_targets
from nlu_lite.errors import InvalidOptionError
from nlu_lite.frames.output import FrameParts, assemble
from nlu_lite.nlu.layout import nlu5_frame, nlu5_parts, object_cells, token_matrices, vector_names
from nlu_lite.nlu.spark_tokenizer import spark_nlp_spans
from nlu_lite.options import PredictOptions
from nlu_lite.tasks.levels import Level, Plan, Rows, Spans, align, per_row, sentence_ids

if TYPE_CHECKING:
    from nlu_lite.tasks.base import FrameContext, ProgressFor

Tick = Callable[[int], Any] | None
Vectors = tuple[np.ndarray, np.ndarray]  # (R, D) float32 block, (R,) has-vector


class Embeddings:
    """Embeddings (registry tasks ``embed``: word models, ``embed_sentence``: sentence models)."""

    name = "embeddings"
    kinds: tuple[str, ...] = ("embed", "embed_sentence")
    head = "AutoModel"
    levels: tuple[str, ...] = ("token", "sub_token", "sentence", "document")

    def check(self, level: str, encoders: Sequence[Encoder], options: PredictOptions) -> None:
        """The checks that need the models: prompt names, layer ranges, sentence heads."""
        pooled = level in ("sentence", "document")
        known_prompts = {"query", "passage"}.union(*(e.entry.prompt_table() for e in encoders))
        if options.prompt is not None and options.prompt not in known_prompts:
            raise InvalidOptionError("prompt", options.prompt, (None, *sorted(known_prompts)))
        if options.prompt is not None and not pooled:
            raise InvalidOptionError(
                "prompt", options.prompt, "None at token levels (prompts are for sentence/document vectors)"
            )
        for enc in encoders:
            enc.layer_indices(options.layers)  # validate before any work
        if pooled and options.pooling is None:
            check_sentence_head(encoders, options.prompt)

    def run(self, plan: Plan, encoders: Sequence[Encoder], compute: bool, progress: ProgressFor) -> Level:
        """The rows of ``plan``'s level with every model's vectors (none when ``compute`` is
        False: the rows are the first model's tokenization either way)."""
        return rows_and_states(plan, encoders, compute, progress)

    def frame(self, parts: FrameParts, done: Level, context: FrameContext) -> Any:
        """nlu_lite's layout, or NLU 5's (``convention='nlu5'``: see nlu_lite.nlu.layout)."""
        if context.options.convention != "nlu5":
            return assemble(parts)
        return _nlu5_frame(parts, done, context)


def rows_and_states(plan: Plan, encoders: Sequence[Encoder], compute: bool, progress: ProgressFor) -> Level:
    """The rows of ``plan``'s level with what each model's forward gives there (its vectors, or
    a task head's logits), keyed by the model's column; a token classifier's words come from here
    too.  ``compute=False``: the rows alone."""
    ran = list(encoders) if compute else []
    pieces = tokenize_all(plan, ran or list(encoders[:1]))
    with progress(len(pieces[0].ids) if ran else 0) as tick:
        if plan.spec.pooled:
            done, first = _unit_rows(plan, ran, pieces, tick)
        elif plan.level == "token" and plan.options.tokenizer == "spark_nlp":
            done, first = _spark_token_rows(plan, ran, pieces, tick)
        else:
            done, first = _token_rows(plan, ran, pieces, tick)
    if plan.options.metadata:
        windows = first.windows if first is not None else encoders[0].windows(pieces[0], plan.options.overlap)
        input_counts(done, plan, pieces[0], windows.unit)
    return done


def tokenize_all(plan: Plan, encoders: Sequence[Encoder]) -> list[Pieces]:
    """Every model's word pieces of the plan's units, once: with the prompt's text in front at
    pooled levels (its own prompt table per model), with offsets where rows need them."""
    pooled = plan.spec.pooled
    return [
        enc.tokenize(plan.units.texts, enc.prefix_for(plan.options.prompt) if pooled else "", spans=not pooled)
        for enc in encoders
    ]


def check_sentence_head(encoders: Sequence[Encoder], prompt: str | None) -> None:
    """Refuse sentence vectors whose recipe in the model's files nlu_lite cannot reproduce, rather
    than give vectors that silently differ from sentence-transformers'."""
    for enc in encoders:
        problems = list(enc.components.unsupported)
        if not enc.components.include_prompt and enc.prefix_for(prompt):
            problems.append("pooling that leaves out the prompt's tokens (include_prompt: false)")
        if problems:
            raise InvalidOptionError(
                "pooling",
                None,
                f"an explicit pooling ('mean', 'cls', 'max'): the files of {enc.entry.spelling!r} ask for "
                f"{'; '.join(problems)}, which nlu_lite does not reproduce, so its own sentence vectors "
                "cannot be given. Token-level output is not affected",
            )


def _word_pooling(plan: Plan, ran: Sequence[Encoder]) -> str:
    return plan.options.word_pooling or (ran[0].entry.word_pooling if ran else "first")


def _token_rows(plan: Plan, ran: Sequence[Encoder], pieces: list[Pieces], tick: Tick) -> tuple[Level, Encoded | None]:
    """Rows of words (``token``) or word pieces (``sub_token``) of the first model, a vector per
    model for each."""
    p0 = pieces[0]
    words = plan.level == "token"
    items = Spans.words(p0) if words else Spans.pieces(p0)
    starts = p0.word_start if words else np.arange(len(p0.ids) + 1)
    rows = plan.rows(items)
    has = np.zeros(rows.n, dtype=bool)
    has[rows.of_item] = True
    word_pooling = _word_pooling(plan, ran)
    vectors: dict[str, Vectors] = {}
    first = None
    if ran:  # the first model defines the rows: its vectors go straight to them
        block, first = _first_vectors(plan, ran[0], p0, rows, starts, tick)
        vectors[ran[0].entry.column] = (block, has)
    pick = word_pooling if words else "first"
    for enc, pk in zip(ran[1:], pieces[1:], strict=True):
        vectors[enc.entry.column], _ = _aligned_vectors(plan, enc, pk, rows, pick)
    done = Level(rows, plan.row_text(rows, items), vectors)
    if plan.options.metadata:
        done.meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
        done.meta["pieces"][rows.of_item] = np.diff(starts)
    assert plan.sentences is not None
    done.extra["sentence_id"] = sentence_ids(rows, plan.sentences, plan.longest)
    return done, first


def _first_vectors(
    plan: Plan, first: Encoder, pieces: Pieces, rows: Rows, starts: np.ndarray, tick: Tick
) -> tuple[np.ndarray, Encoded]:
    """The first model's vector of each row of words (``starts``: each word's first piece) or
    pieces, straight from its own pieces: one piece per word picked, or (mean) all of them
    reduced per word."""
    n_pieces = len(pieces.ids)
    word_pooling = _word_pooling(plan, [first])
    if plan.level == "token" and word_pooling == "mean":
        out = first.encode(pieces, Need.rows(np.arange(n_pieces), n_pieces), plan.options, tick)
        assert out.rows is not None
        block = np.zeros((rows.n, out.rows.shape[1]), dtype=np.float32)
        block[rows.of_item] = reduce_words(out.rows, starts)
        return block, out
    item_of_piece = word_targets(starts, n_pieces, word_pooling) if plan.level == "token" else None
    if item_of_piece is None:
        target = rows.of_item
    else:
        target = np.where(item_of_piece >= 0, rows.of_item[np.maximum(item_of_piece, 0)], -1)
    out = first.encode(pieces, Need.rows(target, rows.n), plan.options, tick)
    assert out.rows is not None
    return out.rows, out


def _aligned_vectors(
    plan: Plan, enc: Encoder, pieces: Pieces, rows: Rows, pick: str, tick: Tick = None
) -> tuple[Vectors, Encoded]:
    """A model's vectors for rows given by character spans: its own pieces, aligned to the rows
    (first, last or mean of the pieces inside each row's span)."""
    out = enc.encode(pieces, Need.rows(np.arange(len(pieces.ids)), len(pieces.ids)), plan.options, tick)
    assert out.rows is not None
    dim = out.rows.shape[1]
    block = np.zeros((rows.n, dim), dtype=np.float32)
    if len(pieces.ids) == 0:  # this model's tokenizer made nothing of these texts: no vectors
        return (block, np.zeros(rows.n, dtype=bool)), out
    f, last, ok = align(pieces, rows.items, plan.longest)
    if pick == "mean":
        csum = np.concatenate([np.zeros((1, dim)), np.cumsum(out.rows, axis=0, dtype=np.float64)])
        span = (last - f + 1).astype(np.float64)[:, None]
        block[rows.of_item] = ((csum[last + 1] - csum[f]) / span).astype(np.float32)
    else:
        block[rows.of_item] = out.rows[last if pick == "last" else f]
    block[rows.of_item[~ok]] = 0.0
    has = np.zeros(rows.n, dtype=bool)
    has[rows.of_item[ok]] = True
    return (block, has), out


def _spark_tokens(plan: Plan) -> Spans:
    """Spark NLP's default Tokenizer's tokens of every unit, with offsets in the input text."""
    unit: list[int] = []
    begin: list[int] = []
    end: list[int] = []
    for u, (unit_text, base) in enumerate(zip(plan.units.texts, plan.units.base.tolist(), strict=True)):
        for b, e in spark_nlp_spans(unit_text):
            unit.append(u)
            begin.append(base + b)
            end.append(base + e)
    as_array = functools.partial(np.asarray, dtype=np.int64)
    return Spans(as_array(unit), as_array(begin), as_array(end))


def _spark_token_rows(
    plan: Plan, ran: Sequence[Encoder], pieces: list[Pieces], tick: Tick
) -> tuple[Level, Encoded | None]:
    """Rows of Spark NLP's default Tokenizer (NLU's token rows), with exact offsets; each model's
    vector for a token comes from its pieces inside the token (the first, as Spark NLP does, or
    the last or mean).  A token no piece of a model touches (characters its tokenizer drops) has
    no vector from that model (NaN), as NLU pads such tokens."""
    items = _spark_tokens(plan)
    rows = plan.rows(items)
    word_pooling = _word_pooling(plan, ran)
    vectors: dict[str, Vectors] = {}
    first = None
    for k, (enc, pk) in enumerate(zip(ran, pieces[: len(ran)], strict=True)):
        vectors[enc.entry.column], out = _aligned_vectors(plan, enc, pk, rows, word_pooling, tick if k == 0 else None)
        first = first or out
    done = Level(rows, plan.row_text(rows, items), vectors)
    if plan.options.metadata:  # the first model's pieces inside each token
        p0 = pieces[0]
        f, last, ok = align(p0, items, plan.longest) if len(p0.ids) else (0, 0, False)
        done.meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
        done.meta["pieces"][rows.of_item] = np.where(ok, np.asarray(last) - f + 1, 0)
    assert plan.sentences is not None
    done.extra["sentence_id"] = sentence_ids(rows, plan.sentences, plan.longest)
    return done, first


def _unit_rows(plan: Plan, ran: Sequence[Encoder], pieces: list[Pieces], tick: Tick) -> tuple[Level, Encoded | None]:
    """One row per sentence or document with text, a pooled vector per model for each (an empty
    or blank unit is no row: its input keeps one empty row)."""
    rows, text = plan.unit_rows()
    pooling = plan.options.pooling
    vectors: dict[str, Vectors] = {}
    first = None
    for k, (enc, pk) in enumerate(zip(ran, pieces[: len(ran)], strict=True)):
        # the model's own pooling, normalisation and sentence head, unless a pooling is asked for
        need = Need.pooled(pooling or enc.entry.pooling, enc.entry.normalize and pooling is None, pooling is None)
        out = enc.encode(pk, need, plan.options, tick if k == 0 else None)
        assert out.pooled is not None and out.has_pooled is not None
        vectors[enc.entry.column] = per_row(out.pooled, out.has_pooled, rows)
        first = first or out
    done = Level(rows, text, vectors)
    if plan.options.metadata:
        done.meta["pieces"] = np.zeros(rows.n, dtype=np.int64)
        done.meta["pieces"][rows.of_item] = np.diff(pieces[0].unit_start)[rows.item_unit]
    return done, first


def input_counts(done: Level, plan: Plan, pieces: Pieces, window_unit: np.ndarray) -> None:
    """``metadata=True``: the first model's pieces and windows of each row's input."""
    units, rows = plan.units, done.rows
    per_input = functools.partial(np.bincount, units.input, minlength=len(plan.texts))
    done.meta["input_pieces"] = per_input(weights=np.diff(pieces.unit_start)).astype(np.int64)[rows.input]
    windows = np.bincount(window_unit, minlength=len(units.texts))
    done.meta["input_windows"] = per_input(weights=windows).astype(np.int64)[rows.input]


def _nlu5_frame(parts: FrameParts, done: Level, context: FrameContext) -> Any:
    """The result in NLU 5's layout (see nlu_lite.nlu.layout): NLU's column names, positions with
    an inclusive end, ``text`` for DataFrame input, word models' token vectors unpooled at
    document level (one matrix per input), columns in alphabetical order."""
    encoders, options, inputs = context.encoders, context.options, context.inputs
    refs = context.nlu_ref.split()
    if len(refs) != len(encoders):
        refs = [e.entry.spelling for e in encoders]
    tasks = [e.entry.task for e in encoders]
    names = dict(zip([e.entry.column for e in encoders], vector_names(refs, tasks), strict=True))
    if not options.get_embeddings:  # no vector columns, nor their positions (as NLU)
        names = {}
    rows = done.rows
    matrices = {}
    if parts.level == "document" and "embed" in tasks and options.get_embeddings:
        tok = context.run_level("token", replace(options, metadata=False))
        matrices = _token_matrices(tok, encoders, names, len(inputs.texts), rows.input)
    row_text = np.asarray(inputs.texts, dtype=object)[rows.input] if inputs.carried is not None else None
    spans = (rows.begin, rows.end) if options.positions else None
    parts.vectors, parts.extra = nlu5_parts(parts.level, parts.vectors, parts.extra, names, spans, row_text)
    for name, values in matrices.items():  # built with the rest, so a user's column of that name is kept
        parts.extra[name] = object_cells(values)
    parts.positions = False
    return nlu5_frame(assemble(parts), list(names.values()))


def _token_matrices(
    tok: Level, encoders: Sequence[Encoder], names: dict[str, str], n_inputs: int, row_input: np.ndarray
) -> dict[str, list[np.ndarray]]:
    """NLU gives word models' token vectors, unpooled, at document level: per word model, each
    row's input's token vectors as one matrix."""
    has_text = np.zeros(tok.rows.n, dtype=bool)
    has_text[tok.rows.of_item] = True  # the one empty row of an input without tokens is none
    matrices = {}
    for enc in encoders:
        if enc.entry.task == "embed":
            block, has = tok.vectors[enc.entry.column]
            per_input = token_matrices(tok.rows.input, has_text, block, has, n_inputs)
            matrices[names[enc.entry.column]] = [per_input[i] for i in row_input.tolist()]
    return matrices
