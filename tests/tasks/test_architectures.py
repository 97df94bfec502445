"""Every architecture NLU's classifiers and taggers use gives transformers' own pipeline scores:
small random heads of each family, with a real tokenizer of its kind, loaded through a registry
entry (YAML → folder → AutoModelFor…), compared with the text-classification and
token-classification pipelines on the same weights (max abs difference ≤ 1e-5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import minilm_dir
from model_families import _bpe_tokenizer, _unigram_tokenizer

LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
TEXTS = ["I love NLP and transformers.", "The quick brown fox jumps over the lazy dog."]
# family -> (tokenizer kind, config settings beyond the small shape)
FAMILIES = {
    "bert": ("wordpiece", {}),
    "distilbert": ("wordpiece", {}),
    "electra": ("wordpiece", {"embedding_size": 16}),
    "roberta": ("bpe", {}),
    "longformer": ("bpe", {"attention_window": 4}),
    "xlm-roberta": ("unigram", {}),
    "camembert": ("unigram", {}),
    "albert": ("unigram", {"embedding_size": 16}),
    "deberta-v2": ("unigram", {}),
}
HEADS = {"classify": "AutoModelForSequenceClassification", "ner": "AutoModelForTokenClassification"}


def _tokenizer(kind: str):
    from transformers import AutoTokenizer

    if kind == "wordpiece":
        return AutoTokenizer.from_pretrained(minilm_dir())
    return _bpe_tokenizer() if kind == "bpe" else _unigram_tokenizer("albert")


def _write(folder: Path, family: str, task: str) -> None:
    import torch
    import transformers
    from transformers import AutoConfig

    kind, extra = FAMILIES[family]
    tok = _tokenizer(kind)
    small = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64}
    if family == "distilbert":
        small = {"dim": 32, "n_layers": 2, "n_heads": 4, "hidden_dim": 64}
    config = AutoConfig.for_model(
        family,
        vocab_size=len(tok),
        max_position_embeddings=80,
        pad_token_id=tok.pad_token_id,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={n: i for i, n in enumerate(LABELS)},
        **small,
        **extra,
    )
    torch.manual_seed(3)
    model = getattr(transformers, HEADS[task]).from_config(config)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)


@pytest.fixture(scope="module")
def arch_registry(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("arch_models")
    lines = [
        "family: arch_tests",
        "defaults: {language: en, licence: mit, description: a tiny random head, max_length: 64}",
        "models:",
    ]
    for family in FAMILIES:
        for task in HEADS:
            name = family.replace("-", "_")
            _write(root / f"{task}_{name}", family, task)
            level = "document" if task == "classify" else "token"
            lines.append(f"  - {{spelling: en.{task}.arch.{name}, task: {task}, output_level: {level},")
            lines.append(f"     source: {{path: {root / f'{task}_{name}'}}}}}")
    folder = tmp_path_factory.mktemp("arch_registry")
    (folder / "arch.yaml").write_text("\n".join(lines) + "\n")
    return folder


def _load(arch_registry, monkeypatch, spelling):
    import nlu_lite

    monkeypatch.setenv("NLU_LITE_REGISTRY", str(arch_registry))
    return nlu_lite.load(spelling)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_architectures_classify_equals_the_pipeline(arch_registry, monkeypatch, family):
    from transformers import pipeline

    pipe = _load(arch_registry, monkeypatch, f"en.classify.arch.{family.replace('-', '_')}")
    enc = pipe.encoders[0]
    reference = pipeline("text-classification", model=enc.model, tokenizer=enc.components.tokenizer, top_k=None)
    df = pipe.predict(TEXTS, metadata=True)
    stem = f"en_classify_arch_{family.replace('-', '_')}"
    for (_, row), ref in zip(df.iterrows(), reference(TEXTS), strict=True):
        best = max(ref, key=lambda r: r["score"])
        assert row[f"{stem}_label"] == best["label"]
        for r in ref:
            assert abs(row[f"{stem}_{r['label']}"] - r["score"]) <= 1e-5, (family, r)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_architectures_tags_equal_the_pipeline_at_first_pieces(arch_registry, monkeypatch, family):
    from transformers import pipeline

    pipe = _load(arch_registry, monkeypatch, f"en.ner.arch.{family.replace('-', '_')}")
    enc = pipe.encoders[0]
    reference = pipeline("token-classification", model=enc.model, tokenizer=enc.components.tokenizer, ignore_labels=[])
    df = pipe.predict(TEXTS, positions=True)
    stem = f"en_ner_arch_{family.replace('-', '_')}"
    for i, text in enumerate(TEXTS):
        first: dict[int, dict] = {}
        for piece in reference(text):
            if piece["start"] is not None and piece["end"] > piece["start"]:
                first.setdefault(piece["start"], piece)
        rows = df.loc[[i]]
        checked = 0
        for _, row in rows.iterrows():
            ref = first.get(row["begin"])
            if ref is None:  # a word whose first piece starts at the space before it (byte-level BPE)
                ref = first.get(row["begin"] - 1)
            assert ref is not None, (family, row["token"])
            assert row[f"{stem}_label"] == ref["entity"], (family, row["token"])
            assert abs(row[f"{stem}_confidence"] - ref["score"]) <= 1e-5, (family, row["token"])
            checked += 1
        assert checked == len(rows) > 3
