"""NLU's model families (the second segment of an NLU name, or the first where the language is
left out: ``en.answer_question.squad`` and ``answer_question`` are question answering), and what
each family is, for those nlu_lite does not cover yet: a name of one of them is an
:class:`~nlu_lite.errors.UncoveredTaskError` that says so, never "did you mean an embedding".

The families are those of NLU 5.4.1's spellbook (8,835 model names); the ones nlu_lite covers
(embed, embed_sentence, classify, sentiment, ner, pos) are answered by the registry.
"""

from __future__ import annotations

from nlu_lite.nlu.layout import nlu_languages

# family -> what its models do, for NLU's families nlu_lite has no task for yet
NOT_COVERED: dict[str, str] = {
    "answer_question": "question answering",
    "translate": "translation",
    "speech2text": "speech recognition",
    "classify_image": "image classification",
    "lemma": "lemmatization",
    "lemma_alpino": "lemmatization",
    "stopwords": "stop-word removal",
    "stopwords_es": "stop-word removal",
    "sentence_detector": "sentence detection models (nlu_lite splits sentences by rule, or with sentence_splitter=)",
    "t5": "text-to-text generation (T5)",
    "seq2seq": "sequence-to-sequence generation",
    "segment_words": "word segmentation",
    "zero_shot": "zero-shot classification",
    "generate": "text generation",
    "dep": "dependency parsing",
    "tokenize": "tokenizer models (nlu_lite tokenizes with each model's own, or tokenizer='spark_nlp')",
    "poem_meter": "poem meter classification",
    "yake": "keyword extraction (YAKE)",
    "stem": "stemming",
    "spell": "spell checking",
    "norm": "text normalization",
    "ngram": "n-gram generation",
    "embed_chunk": "chunk embeddings",
    "coreference": "coreference resolution",
    "chunk": "phrase chunking",
    "match": "rule-based matching",
    "clean": "text cleaning",
}
COVERED = "embeddings (embed, embed_sentence), text classification (classify, sentiment), NER (ner) and POS (pos)"


def nlu_family(name: str) -> str | None:
    """The family segment of an NLU name (after its language, if it starts with one)."""
    parts = name.strip().lower().split(".")
    if len(parts) > 1 and parts[0] in nlu_languages():
        return parts[1]
    return parts[0] or None


def not_covered(name: str) -> str | None:
    """Why nlu_lite has no model for ``name`` when its NLU family is one nlu_lite does not cover
    yet (None: a covered family, or no NLU family at all)."""
    family = nlu_family(name)
    what = NOT_COVERED.get(family or "")
    if what is None:
        return None
    return f"NLU's {family!r} models ({what}) are not in nlu_lite yet; nlu_lite covers {COVERED}"
