"""predict()'s options are listed once (nlu_lite.options.OPTION_TABLE): the signatures, the typed
keywords of the streaming calls, the options object, print_info, help(), the CLI and the docs are
checked against that list, so that none of them can drift from it."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from nlu_lite.cli import build_parser
from nlu_lite.options import (
    OPTION_TABLE,
    OUTPUT_LEVELS,
    NluLiteOptions,
    PredictOptions,
    StreamOptions,
    describe_options,
    option_default,
)
from nlu_lite.pipeline import Pipeline

NAMES = [row[0] for row in OPTION_TABLE]
# NLU's keywords that are translated (keep_stranger_features -> keep_columns) or refused, not kept
NLU_ONLY = {"keep_stranger_features", "multithread", "parser_output", "parser_config"}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "options.md"


def _signature_names(method) -> list[str]:
    params = inspect.signature(method).parameters.values()
    return [p.name for p in params if p.kind is not p.VAR_KEYWORD and p.name not in ("self", "data")]


def test_options_table_names_each_option_once():
    assert len(NAMES) == len(set(NAMES))


def test_options_predict_takes_exactly_the_listed_options():
    positional = _signature_names(Pipeline.predict)
    assert sorted(positional + list(NluLiteOptions.__annotations__)) == sorted(NAMES)
    assert set(positional).isdisjoint(NluLiteOptions.__annotations__)


def test_options_streaming_calls_take_the_listed_options_less_the_per_call_ones():
    assert sorted(StreamOptions.__annotations__) == sorted(set(NAMES) - {"output_path", "return_spark_df"})
    assert _signature_names(Pipeline.predict_iter) == ["chunk_rows"]
    assert _signature_names(Pipeline.predict_to_parquet) == ["path", "chunk_rows"]


def test_options_object_holds_every_option_but_nlus_translated_ones():
    fields = {f.name for f in dataclasses.fields(PredictOptions)}
    assert fields == set(NAMES) - NLU_ONLY


def test_options_defaults_are_written_once():
    """predict()'s positional defaults are the options object's (NLU's '' means the same as None)."""
    params = inspect.signature(Pipeline.predict).parameters
    for name in _signature_names(Pipeline.predict):
        if name not in NLU_ONLY:
            assert params[name].default == option_default(name), name
    assert PredictOptions().overlap == option_default("overlap") == 0.25


@pytest.mark.parametrize("method", [Pipeline.predict, Pipeline.predict_iter, Pipeline.predict_to_parquet])
def test_options_help_lists_every_option(method):
    doc = method.__doc__
    for name in NAMES:
        assert re.search(rf"^\s+{name}\s", doc, re.M), f"help({method.__name__}) does not list {name}"


def test_options_print_info_lists_every_option():
    lines = describe_options({"output_level": "token"})
    assert [line.split()[0] for line in lines] == NAMES
    assert "(default: 'token')" in lines[0]


def test_options_cli_flags_are_options_or_the_clis_own():
    predict = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "predict")[1]
    cli_own = {"help", "text", "file", "model", "device", "out", "chunk_rows"}
    as_option = {"level": "output_level"}
    for action in predict._actions:
        name = as_option.get(action.dest, action.dest)
        assert name in cli_own or name in NAMES, f"--{action.dest} is neither an option nor the CLI's own"
        if name == "output_level":
            assert tuple(action.choices) == OUTPUT_LEVELS


def test_options_docs_page_lists_every_option():
    text = DOCS.read_text()
    missing = [name for name in NAMES if f"`{name}`" not in text]
    assert missing == [], f"docs/options.md does not describe {missing}"
