"""NLU names of families nlu_lite does not cover yet are a typed error that says so, never an
unknown spelling with suggestions of unrelated models."""

from __future__ import annotations

import pytest

import nlu_lite
from nlu_lite.errors import UncoveredTaskError, UnknownSpellingError
from nlu_lite.nlu.families import NOT_COVERED, nlu_family

# the family column of NLU 5.4.1's spellbook (all 8,835 names), each value once
NLU_FAMILIES = (
    "ner answer_question translate speech2text classify embed embed_sentence classify_image pos lemma stopwords "
    "sentence_detector t5 seq2seq segment_words sentiment zero_shot generate dep tokenize poem_meter bert yake "
    "stopwords_es stem spell norm ngram lemma_alpino embed_chunk coreference chunk"
).split()
COVERED = {"embed", "embed_sentence", "classify", "sentiment", "ner", "pos"}


@pytest.mark.parametrize("family", sorted(NOT_COVERED))
def test_families_uncovered_names_say_so(family):
    for name in (f"en.{family}.some_model", f"xx.{family}", family):
        with pytest.raises(UncoveredTaskError, match=f"NLU's '{family}' models") as info:
            nlu_lite.resolve(name)
        assert isinstance(info.value, UnknownSpellingError) and info.value.suggestions == []


def test_families_every_nlu_family_is_covered_or_said_to_be_not():
    # 'bert' is one name NLU files under a family of its own: an embedding alias here
    odd = {"bert"}
    assert set(NLU_FAMILIES) - COVERED - odd == set(NOT_COVERED) - {"match", "clean"}


def test_families_a_covered_family_still_suggests_models():
    with pytest.raises(UnknownSpellingError) as info:
        nlu_lite.resolve("en.embed.bert.smal_L2_256")
    assert not isinstance(info.value, UncoveredTaskError) and info.value.suggestions


@pytest.mark.parametrize(
    ("name", "family"), [("en.lemma.antbnc", "lemma"), ("lemma", "lemma"), ("xx.translate", "translate"), ("de", "de")]
)
def test_families_the_family_segment(name, family):
    assert nlu_family(name) == family
