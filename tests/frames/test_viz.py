"""Entity highlighting: escaped HTML whose text, tags stripped, is the input exactly; spans checked;
colours stable across processes; a chunk-level frame drawn back onto its texts."""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from nlu_lite.errors import InvalidInputError, InvalidOptionError
from nlu_lite.frames.viz import FIXED_COLORS, HTML, PALETTE, entities_html, label_color, render_entities


class _Reader(HTMLParser):
    """What a reader sees: the text outside and inside marks, in order, label tags set apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[str, str]] = []  # ("text" | "mark", data), label tags left out
        self.labels: list[str] = []
        self.marks: list[dict[str, str | None]] = []
        self.tags: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attributes = dict(attrs)
        if tag == "mark":
            self.marks.append(attributes)
            self._stack.append("mark")
        elif tag == "span" and attributes.get("class") == "nlu-lite-label":
            self._stack.append("label")
            self.labels.append("")
        else:
            self._stack.append(tag)

    def handle_endtag(self, tag):
        self._stack.pop()

    def handle_data(self, data):
        where = self._stack[-1] if self._stack else "outside"
        if where == "label":
            self.labels[-1] += data
        else:
            kind = "mark" if where == "mark" else "text"
            if self.pieces and self.pieces[-1][0] == kind and kind == "text":
                self.pieces[-1] = (kind, self.pieces[-1][1] + data)
            else:
                self.pieces.append((kind, data))

    @property
    def text(self) -> str:
        return "".join(data for _, data in self.pieces)

    @property
    def entities(self) -> list[str]:
        return [data for kind, data in self.pieces if kind == "mark"]


def _read(markup: str) -> _Reader:
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    return reader


def _blocks(markup: str) -> list[_Reader]:
    """Each top-level div of entities_html()'s output, read (text is escaped, so a newline before
    '<div' only occurs between blocks)."""
    first, *rest = markup.split("\n<div")
    return [_read(first)] + [_read("<div" + part) for part in rest]


TEXT = "Angela Merkel met\nEmmanuel Macron in Paris on 3 May."


def test_viz_marks_in_order_and_text_kept_exactly():
    paris = TEXT.index("Paris")
    spans = [(paris, paris + 5, "LOC"), (0, 13, "PER"), (18, 33, "PER")]  # unsorted on purpose
    out = render_entities(TEXT, spans)
    reader = _read(out)
    assert reader.text == TEXT  # tags stripped, label tags removed: the input, newline included
    assert reader.entities == ["Angela Merkel", "Emmanuel Macron", "Paris"]
    assert reader.labels == ["PER", "PER", "LOC"]
    assert [m["data-label"] for m in reader.marks] == ["PER", "PER", "LOC"]
    assert out.startswith('<div class="nlu-lite-entities"') and out.endswith("</div>")
    assert "white-space: pre-wrap" in out
    assert "<script" not in out and "<link" not in out and "<style" not in out


def test_viz_escapes_text_and_labels():
    text = '<script>alert(1)</script> & "quotes" by <b>Bob</b>'
    begin = text.index("<b>Bob</b>")
    out = render_entities(text, [(0, 25, "<script>x</script>"), (begin, len(text), 'PER" onmouseover="x')])
    assert "<script>" not in out and "<b>" not in out
    assert "&lt;script&gt;" in out
    assert 'onmouseover="x' not in out  # the label could not leave its attribute
    reader = _read(out)
    assert reader.text == text
    assert reader.entities == ["<script>alert(1)</script>", "<b>Bob</b>"]
    assert reader.labels == ["<script>x</script>", 'PER" onmouseover="x']
    assert reader.marks[1]["data-label"] == 'PER" onmouseover="x'
    assert set(reader.tags) == {"div", "mark", "span"}


def test_viz_no_spans_renders_plain_text():
    out = render_entities("a < b\nc", [])
    reader = _read(out)
    assert reader.text == "a < b\nc" and reader.entities == [] and "<mark" not in out
    assert render_entities("", iter([])) == render_entities("", ()) == (render_entities("", [(0, 0, "X")][:0]))


def test_viz_adjacent_spans_and_numpy_offsets():
    text = "NewYork"
    out = render_entities(text, [(np.int64(3), np.int64(7), "LOC"), (0, 3, "LOC")])
    reader = _read(out)
    assert reader.entities == ["New", "York"] and reader.text == text


@pytest.mark.parametrize(
    ("spans", "needle"),
    [
        ([(0, 13, "PER"), (7, 20, "ORG")], "overlap"),
        ([(0, 13, "PER"), (0, 6, "PER")], "overlap"),
        ([(40, 100, "LOC")], "does not fit"),
        ([(-1, 3, "LOC")], "does not fit"),
        ([(5, 5, "LOC")], "does not fit"),
        ([(6, 3, "LOC")], "does not fit"),
        ([(0, 3)], "(begin, end, label)"),
        ([(0.0, 3, "X")], "(begin, end, label)"),
        (["abc"], "(begin, end, label)"),
    ],
)
def test_viz_bad_spans_refused(spans, needle):
    with pytest.raises(InvalidInputError) as info:
        render_entities(TEXT, spans)
    assert needle in str(info.value)


def test_viz_text_must_be_str():
    with pytest.raises(InvalidInputError):
        render_entities(None, [])  # type: ignore[arg-type]


def test_viz_colours_fixed_overridden_and_from_palette():
    assert label_color("PER") == label_color("PERSON") == label_color("per") == FIXED_COLORS["PER"]
    assert label_color("LOC") == label_color("GPE")
    assert len({label_color(c) for c in ("PER", "ORG", "LOC", "MISC", "DATE")}) == 5
    assert label_color("DRUG") in PALETTE and label_color("DRUG") == label_color("DRUG")
    assert len(PALETTE) >= 10
    out = render_entities("Bob", [(0, 3, "PER")], colors={"PER": "#123456"})
    assert "#123456" in out and FIXED_COLORS["PER"] not in out
    assert FIXED_COLORS["PER"] in render_entities("Bob", [(0, 3, "PER")], colors={"ORG": "red"})
    with pytest.raises(InvalidOptionError):
        render_entities("Bob", [(0, 3, "PER")], colors={"PER": "red; background: url(http://x)"})


def test_viz_colours_do_not_depend_on_the_hash_seed():
    labels = ["DRUG", "GENE", "DOSAGE", "SYMPTOM", "B-THING", "été", "x"]
    code = (
        "from nlu_lite.frames.viz import label_color; import sys; print(' '.join(label_color(l) for l in sys.argv[1:]))"
    )
    seen = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code, *labels], capture_output=True, text=True, env=env, check=True)
        seen.add(out.stdout.strip())
    assert seen == {" ".join(label_color(label) for label in labels)}
    assert len({label_color(label) for label in labels}) > 1  # the hash spreads labels over the palette


def test_viz_html_wrapper_for_jupyter():
    markup = render_entities("Bob", [(0, 3, "PER")])
    shown = HTML(markup)
    assert shown._repr_html_() == markup and str(shown) == markup
    assert repr(shown).startswith("HTML(")


TEXTS = ["Angela Merkel visited Paris.", "nothing to see here", "<Acme> hired Bob"]


def _chunk_frame() -> pd.DataFrame:
    """A chunk-level frame as nlu_lite lays it out: one row per entity, index = input's label, one
    row with chunk '' and no label for the input without entities."""
    rows = [
        ("a", "Angela Merkel", 0, 13, "PER", 0.99),
        ("a", "Paris", 22, 27, "LOC", 0.97),
        ("b", "", -1, -1, None, np.nan),
        ("c", "<Acme>", 0, 6, "ORG", 0.91),
        ("c", "Bob", 13, 16, "PER", 0.95),
    ]
    index, chunk, begin, end, label, confidence = zip(*rows)
    return pd.DataFrame(
        {
            "chunk": list(chunk),
            "begin": list(begin),
            "end": list(end),
            "ner_label": list(label),
            "ner_confidence": list(confidence),
        },
        index=pd.Index(list(index)),
    )


def test_viz_frame_round_trip():
    out = entities_html(_chunk_frame(), TEXTS)
    readers = _blocks(out)
    assert len(readers) == 3
    assert [r.text for r in readers] == TEXTS
    assert [r.entities for r in readers] == [["Angela Merkel", "Paris"], [], ["<Acme>", "Bob"]]
    assert [r.labels for r in readers] == [["PER", "LOC"], [], ["ORG", "PER"]]
    assert "&lt;Acme&gt;" in out and "<Acme>" not in out
    assert _read(out).text == "\n".join(TEXTS)  # blocks in input order, joined by newlines


def test_viz_frame_with_nan_offsets_and_float_columns():
    frame = _chunk_frame()
    frame["begin"] = frame["begin"].astype(float).where(frame["ner_label"].notna())  # NaN on the empty row
    frame["end"] = frame["end"].astype(float).where(frame["ner_label"].notna())
    readers = _blocks(entities_html(frame, TEXTS))
    assert [r.entities for r in readers] == [["Angela Merkel", "Paris"], [], ["<Acme>", "Bob"]]


def test_viz_frame_same_label_rows_are_one_input_and_input_row_column():
    frame = _chunk_frame().reset_index(drop=True)  # default RangeIndex: every row its own label
    with pytest.raises(InvalidInputError, match="texts the frame was predicted from"):
        entities_html(frame, TEXTS)
    frame["input_row"] = [0, 0, 1, 2, 2]
    shuffled = frame.iloc[[4, 2, 0, 3, 1]]
    readers = _blocks(entities_html(shuffled, TEXTS))
    assert [r.entities for r in readers] == [["Angela Merkel", "Paris"], [], ["<Acme>", "Bob"]]
    frame["input_row"] = [0, 0, 1, 2, 3]
    with pytest.raises(InvalidInputError, match="input_row=3"):
        entities_html(frame, TEXTS)


def test_viz_frame_wrong_number_of_texts_refused():
    with pytest.raises(InvalidInputError, match=r"3 inputs .* 2 texts"):
        entities_html(_chunk_frame(), TEXTS[:2])
    with pytest.raises(InvalidInputError, match="single str"):
        entities_html(_chunk_frame(), TEXTS[0])


def test_viz_frame_text_mismatch_refused():
    texts = [TEXTS[0], TEXTS[1], "[Acme] hired Bob"]
    with pytest.raises(InvalidInputError, match="not predicted from these texts"):
        entities_html(_chunk_frame(), texts)
    with pytest.raises(InvalidInputError, match="not predicted from these texts"):
        entities_html(_chunk_frame(), [TEXTS[2], TEXTS[1], TEXTS[0]])  # right texts, wrong order


def test_viz_frame_edited_into_overlap_refused():
    frame = _chunk_frame()
    frame.iloc[1, frame.columns.get_loc("begin")] = 7  # "Merkel visited Paris" would overlap Angela Merkel
    frame.iloc[1, frame.columns.get_loc("chunk")] = TEXTS[0][7:27]
    with pytest.raises(InvalidInputError, match="overlap"):
        entities_html(frame, TEXTS)


def test_viz_label_column_detection():
    frame = _chunk_frame()
    with pytest.raises(InvalidOptionError, match="no column ending in '_label'"):
        entities_html(frame.drop(columns="ner_label"), TEXTS)
    two = frame.assign(pos_label=frame["ner_label"])
    with pytest.raises(InvalidOptionError, match="several"):
        entities_html(two, TEXTS)
    assert _read(entities_html(two, TEXTS, label_column="pos_label")).entities == [
        "Angela Merkel",
        "Paris",
        "<Acme>",
        "Bob",
    ]
    with pytest.raises(InvalidOptionError, match="label_column='nope'"):
        entities_html(frame, TEXTS, label_column="nope")
    with pytest.raises(InvalidInputError, match="'chunk'"):
        entities_html(frame.drop(columns="chunk"), TEXTS)
