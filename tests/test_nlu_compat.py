"""NLU drop-in: NLU's names resolve to the model NLU loads, or say why they cannot; NLU's
keywords and helpers work as NLU documents them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nlu_lite
from nlu_lite.errors import NoEquivalentError
from nlu_lite.registry import get_registry

SPELLBOOK = Path(__file__).resolve().parents[2] / "shared" / "nlu" / "spellbook_embeddings.json"


def _nlu_names() -> dict[str, str]:
    """NLU 5.4.1's en/xx embedding names and aliases → the John Snow Labs model each loads."""
    if not SPELLBOOK.is_file():
        pytest.skip(f"{SPELLBOOK} is not here")
    book = json.loads(SPELLBOOK.read_text())
    names = {k: v for k, v in book["models"].items() if k.split(".")[0] in ("en", "xx")}
    names.update(book["aliases"])
    return names


def test_nlu_compat_every_resolving_name_is_nlus_model():
    """0 wrong: a name that resolves loads exactly the John Snow Labs model NLU loads for it."""
    registry = get_registry()
    wrong = []
    for name, jsl in _nlu_names().items():
        entry = registry.find(name)
        if entry is not None and entry.nlu_model != jsl:
            wrong.append(f"{name}: NLU {jsl}, nlu_lite {entry.spelling} ({entry.nlu_model})")
    assert wrong == []


@pytest.mark.parametrize(
    ("name", "nlu_model", "spelling"),
    [
        ("en.embed_sentence.bert", "sent_bert_base_uncased", "en.embed_sentence.bert.base_uncased"),
        ("embed_sentence.bert", "sent_small_bert_L2_128", "en.embed_sentence.small_bert_L2_128"),
        ("en.embed.distilbert", "distilbert_base_cased", "en.embed.distilbert.base_cased"),
        ("bert", "small_bert_L2_128", "en.embed.bert.small_L2_128"),
        ("en.embed.bert", "bert_base_uncased", "en.embed.bert.base_uncased"),
    ],
)
def test_nlu_compat_pinned_aliases(name, nlu_model, spelling):
    assert _nlu_names()[name] == nlu_model
    entry = nlu_lite.resolve(name)
    assert (entry.spelling, entry.nlu_model) == (spelling, nlu_model)


def test_nlu_compat_sentence_bert_is_bert_base():
    entry = nlu_lite.resolve("en.embed_sentence.bert")
    assert (entry.dimension, entry.layers, entry.pooling, entry.case_sensitive) == (768, 12, "pooler", False)
    assert nlu_lite.resolve("en.embed.distilbert").case_sensitive is True


@pytest.mark.parametrize("name", ["biobert", "en.embed.biobert", "embed.biobert"])
def test_nlu_compat_biobert_v10_is_not_replaced_by_v11(name):
    assert _nlu_names()[name] == "biobert_pubmed_base_cased"
    with pytest.raises(NoEquivalentError, match=r"en\.embed\.biobert\.base_cased_v1_1") as info:
        nlu_lite.resolve(name)
    assert "en.embed.biobert.base_cased_v1_1" in info.value.suggestions
