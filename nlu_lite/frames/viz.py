"""Entities highlighted in their text, as plain HTML for Jupyter: no JavaScript, no external CSS,
no extra dependency.

:func:`render_entities` draws one text with its spans (begin, end exclusive, class label) as
coloured ``<mark>`` elements; :func:`entities_html` draws every input of a chunk-level DataFrame
from ``predict(..., output_level='chunk')``; :class:`HTML` wraps either string so that a notebook
displays it instead of printing it.  Colours are stable: common NER classes have fixed ones, any
other class gets one from a CRC-32 of its name, so a label has the same colour in every process
(Python's ``hash()`` of a string changes with ``PYTHONHASHSEED``).
"""

from __future__ import annotations

import html
import math
import operator
import re
import zlib
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nlu_lite.errors import InvalidInputError, InvalidOptionError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["HTML", "entities_html", "label_color", "render_entities"]

# Light colours that keep black text readable; a label outside FIXED_COLORS gets one of these.
PALETTE: tuple[str, ...] = (
    "#aa9cfc",  # lavender
    "#7aecec",  # aqua
    "#feca74",  # apricot
    "#bfeeb7",  # mint
    "#ff9561",  # coral
    "#c887fb",  # orchid
    "#9cc9cc",  # sage blue
    "#ffeb80",  # lemon
    "#f0b3c8",  # rose
    "#b5d3f5",  # sky
    "#e4e7d2",  # stone
    "#c5e1a5",  # pistachio
)

# Classes of the common NER schemes (CoNLL, OntoNotes) keep the same colour whatever else is shown.
FIXED_COLORS: dict[str, str] = {
    "PER": PALETTE[0],
    "PERSON": PALETTE[0],
    "ORG": PALETTE[1],
    "LOC": PALETTE[2],
    "GPE": PALETTE[2],
    "MISC": PALETTE[3],
    "DATE": PALETTE[4],
    "TIME": PALETTE[4],
    "NORP": PALETTE[5],
    "MONEY": PALETTE[6],
    "PERCENT": PALETTE[6],
    "QUANTITY": PALETTE[6],
    "CARDINAL": PALETTE[6],
    "ORDINAL": PALETTE[6],
    "PRODUCT": PALETTE[7],
    "EVENT": PALETTE[8],
    "FAC": PALETTE[9],
    "WORK_OF_ART": PALETTE[10],
    "LAW": PALETTE[10],
    "LANGUAGE": PALETTE[11],
}

# A colour the user passes goes into a style attribute: names, #hex, rgb()/hsl() forms, nothing
# that could end the declaration (';') or load anything (url(...) needs ':' or '/').
_SAFE_COLOR = re.compile(r"[#\w\s(),.%-]+")

_BLOCK_STYLE = "line-height: 2.2; white-space: pre-wrap; font-family: sans-serif; margin: 0 0 1em 0"
_MARK_STYLE = "background: {color}; color: #000; padding: 0.15em 0.35em; border-radius: 0.3em; line-height: 1"
_LABEL_STYLE = "font-size: 0.65em; font-weight: bold; margin-left: 0.4em; vertical-align: middle; opacity: 0.8"


class HTML:
    """An HTML string that Jupyter displays as HTML (through ``_repr_html_``) rather than as text;
    ``str()`` gives the markup back, to save or embed it."""

    __slots__ = ("html",)

    def __init__(self, html: str) -> None:
        self.html = str(html)

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return f"HTML({self.html[:60]!r}{'…' if len(self.html) > 60 else ''})"


def label_color(label: str, colors: Mapping[str, str] | None = None) -> str:
    """The colour of a class label: ``colors`` first, then the fixed colour of a common NER class
    (case-insensitive), else a palette colour picked by the label's CRC-32, the same in every
    process and on every machine."""
    if colors and label in colors:
        return _checked_color(label, colors[label])
    fixed = FIXED_COLORS.get(label.upper())
    if fixed is not None:
        return fixed
    return PALETTE[zlib.crc32(label.encode("utf-8")) % len(PALETTE)]


def _checked_color(label: str, color: object) -> str:
    """A user colour, refused when it is not a plain CSS colour value: it lands in a style
    attribute, where ``;`` or ``url(...)`` would do more than colour."""
    if not isinstance(color, str) or not _SAFE_COLOR.fullmatch(color):
        raise InvalidOptionError(
            f"colors[{label!r}]", color, "a CSS colour such as '#ffcc00', 'lightblue' or 'rgb(255, 204, 0)'"
        )
    return color


def render_entities(
    text: str,
    spans: Sequence[tuple[int, int, str]] | Iterable[tuple[int, int, str]],
    *,
    colors: Mapping[str, str] | None = None,
) -> str:
    """One text with its entity spans highlighted, as an HTML fragment.

    ``spans`` are ``(begin, end, label)`` character offsets into ``text``, end exclusive, in any
    order.  Each becomes a ``<mark>`` holding the entity text and, after it, the label in a small
    tag.  Text and labels are HTML-escaped and newlines kept.  Spans that overlap, are empty or
    fall outside the text raise :class:`InvalidInputError`: they usually come from a DataFrame
    that was edited, and a silently wrong picture would be worse than an error.
    """
    if not isinstance(text, str):
        raise InvalidInputError(f"render_entities() draws a str, got {type(text).__name__}.")
    ordered = _checked_spans(text, spans)
    parts = [f'<div class="nlu-lite-entities" style="{_BLOCK_STYLE}">']
    at = 0
    for begin, end, label in ordered:
        parts.append(html.escape(text[at:begin]))
        parts.append(_mark(text[begin:end], label, label_color(label, colors)))
        at = end
    parts.append(html.escape(text[at:]))
    parts.append("</div>")
    return "".join(parts)


def _mark(entity: str, label: str, color: str) -> str:
    """One highlighted entity with its label tag; the label is escaped in the attribute too."""
    return (
        f'<mark class="nlu-lite-entity" data-label="{html.escape(label)}" '
        f'style="{_MARK_STYLE.format(color=html.escape(color))}">{html.escape(entity)}'
        f'<span class="nlu-lite-label" style="{_LABEL_STYLE}">{html.escape(label)}</span></mark>'
    )


def _checked_spans(text: str, spans: Iterable[Any]) -> list[tuple[int, int, str]]:
    """The spans as (begin, end, label) sorted by begin, refused when one is malformed, empty,
    outside the text or overlapping the one before it."""
    cleaned = [_one_span(span) for span in spans]
    cleaned.sort(key=lambda s: (s[0], s[1]))
    previous: tuple[int, int, str] | None = None
    for begin, end, label in cleaned:
        if not 0 <= begin < end <= len(text):
            raise InvalidInputError(
                f"The span ({begin}, {end}, {label!r}) does not fit the text of {len(text)} characters: "
                "a span needs 0 <= begin < end <= len(text), end exclusive."
            )
        if previous is not None and begin < previous[1]:
            raise InvalidInputError(
                f"The spans {previous} and {(begin, end, label)} overlap; each character can belong to one "
                "entity only. Drop or merge one of them."
            )
        previous = (begin, end, label)
    return cleaned


def _one_span(span: Any) -> tuple[int, int, str]:
    """A span as (begin, end, label) with int offsets (numpy ints too) and a str label."""
    try:
        begin, end, label = span
        return operator.index(begin), operator.index(end), str(label)
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"An entity span is a (begin, end, label) tuple with integer offsets, got {span!r}."
        ) from None


def entities_html(
    frame: pd.DataFrame,
    texts: Sequence[str],
    *,
    label_column: str | None = None,
    colors: Mapping[str, str] | None = None,
    labels: Collection[str] | None = None,
) -> str:
    """Every input text with its entities, one block each in input order, from a chunk-level
    DataFrame of nlu_lite (columns ``chunk``, ``begin``, ``end``, ``<stem>_label``).

    ``texts`` are the texts the frame was predicted from, in input order: the frame holds offsets,
    not whole texts.  Rows belong to inputs through an ``input_row`` column (the input's position)
    when there is one, otherwise through their index: consecutive rows with the same index label
    are one input, and there must be one such group per text.  A row whose label is missing is no
    entity (an input without entities has one such row).  Each entity's ``chunk`` must equal
    ``text[begin:end]``, else the frame does not belong to these texts and InvalidInputError says so.
    ``colors`` overrides the colour of any class (see :func:`render_entities`); ``labels``, where
    given, are the only classes shown.
    """
    if isinstance(texts, str):
        raise InvalidInputError("entities_html() needs the list of input texts, got a single str; wrap it: [text].")
    texts = list(texts)
    label = _label_column(frame, label_column)
    missing = [c for c in ("chunk", "begin", "end") if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"The frame has no column {', '.join(map(repr, missing))}; entities_html() reads a chunk-level frame "
            "from predict(..., output_level='chunk')."
        )
    groups = _rows_of_inputs(frame, len(texts))
    blocks = []
    for text, rows in zip(texts, groups, strict=True):
        spans = _spans_of(frame, rows, label, text)
        if labels is not None:
            spans = [s for s in spans if s[2] in labels]
        blocks.append(render_entities(text, spans, colors=colors))
    return "\n".join(blocks)


def _label_column(frame: pd.DataFrame, label_column: str | None) -> str:
    """The column holding the entity classes: the one given, else the only ``*_label`` column."""
    columns = list(frame.columns)
    if label_column is not None:
        if label_column not in columns:
            raise InvalidOptionError("label_column", label_column, f"one of the columns {columns}")
        return label_column
    found = [c for c in columns if isinstance(c, str) and c.endswith("_label")]
    if len(found) != 1:
        problem = "no column ending in '_label'" if not found else f"several: {found}"
        raise InvalidOptionError(
            "label_column", None, f"the name of the column of entity classes (the frame has {problem})"
        )
    return found[0]


def _rows_of_inputs(frame: pd.DataFrame, n_texts: int) -> list[list[int]]:
    """For each input, the positions of its rows in the frame."""
    if "input_row" in frame.columns:
        return _rows_by_input_row(frame, n_texts)
    groups: list[list[int]] = []
    previous: Hashable = None
    for pos, key in enumerate(frame.index):
        if not groups or not _same_label(previous, key):
            groups.append([])
        groups[-1].append(pos)
        previous = key
    if len(groups) != n_texts:
        raise InvalidInputError(
            f"The frame's index holds {len(groups)} inputs (runs of equal row labels) but {n_texts} texts were "
            "given; pass the texts the frame was predicted from, in input order, and keep one row per input "
            "without entities."
        )
    return groups


def _rows_by_input_row(frame: pd.DataFrame, n_texts: int) -> list[list[int]]:
    """Rows grouped by the input position in the ``input_row`` column."""
    groups: list[list[int]] = [[] for _ in range(n_texts)]
    for pos, value in enumerate(frame["input_row"].tolist()):
        try:
            at = int(value) if isinstance(value, float) and value.is_integer() else operator.index(value)
        except TypeError:
            at = -1  # NaN, a str…: refused below
        if not 0 <= at < n_texts:
            raise InvalidInputError(
                f"Row {pos} of the frame has input_row={value!r}, not a position among the {n_texts} texts given; "
                "pass the texts the frame was predicted from, in input order."
            )
        groups[at].append(pos)
    return groups


def _same_label(a: Hashable, b: Hashable) -> bool:
    """Index labels equal, missing labels (NaN, None) equal to each other."""
    if a is b:
        return True
    if _is_missing(a) or _is_missing(b):
        return _is_missing(a) and _is_missing(b)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _is_missing(value: object) -> bool:
    """None, NaN, NaT or pd.NA, without importing pandas for plain values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return True
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False  # a tuple or array: not one missing value


def _spans_of(frame: pd.DataFrame, rows: list[int], label: str, text: str) -> list[tuple[int, int, str]]:
    """The entity spans of one input's rows, each checked against the text it claims to come from."""
    spans = []
    for pos in rows:
        cls = frame[label].iat[pos]
        if _is_missing(cls):
            continue
        begin, end = _offset(frame, "begin", pos), _offset(frame, "end", pos)
        chunk = frame["chunk"].iat[pos]
        if 0 <= begin <= end <= len(text) and text[begin:end] != chunk:
            raise InvalidInputError(
                f"Row {pos} of the frame has chunk {chunk!r} at [{begin}:{end}], but the text there reads "
                f"{text[begin:end]!r}: the frame was not predicted from these texts (or not in this order)."
            )
        spans.append((begin, end, str(cls)))
    return spans


def _offset(frame: pd.DataFrame, column: str, pos: int) -> int:
    """An integer offset from ``begin``/``end`` (int or whole float), refused otherwise."""
    value = frame[column].iat[pos]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidInputError(
            f"Row {pos} of the frame has {column}={value!r}; an entity needs integer character offsets."
        ) from None
