#!/usr/bin/env python3
"""Generate ``registry/nlu_namespace.yaml``: an answer for every en/xx embedding name of NLU 5.4.1.

Inputs, all in this folder:

- ``spellbook_embeddings.json``: NLU's names and the John Snow Labs (JSL) model each loads
- ``jsl_annotators.json``: the Spark NLP annotator NLU builds for each JSL model (extract_annotators.py)
- ``jsl_cards.json``: the Hugging Face original each JSL model card names (extract_cards.py)
- ``originals.json``: the models whose card alone did not settle it, researched one by one, with
  the evidence for each answer (and a commit where one was found)

and the hand-written registry files (their ``nlu_model`` keys).  Each NLU name gets one answer:

1. a hand-written entry loads its JSL model: the name goes into the ``nlu_names`` table;
2. the original is known: a generated entry (NLU's settings for its annotator, the repository
   pinned where a commit was confirmed, else tracking main: see nlu_lite/locking.py);
3. otherwise a ``no_equivalent`` note saying why and naming the nearest catalogue model.

Usage:  python tools/nlu_namespace/generate.py [--check]
``--check`` exits 1 if the file on disk differs from what the inputs give (CI-style).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
REGISTRY = ROOT / "registry"
OUT = REGISTRY / "nlu_namespace.yaml"
sys.path.insert(0, str(ROOT))

from nlu_lite.hub.registry import parse_file_tables  # noqa: E402

# What NLU's annotator does, in registry terms (Spark NLP 5.x source; see docs/migration.md).
TOKEN = {"output_level": "token", "word_pooling": "first"}
ANNOTATORS: dict[str, dict[str, Any]] = {
    "BertEmbeddings": {"task": "embed", **TOKEN},
    "RoBertaEmbeddings": {"task": "embed", **TOKEN},
    "XlmRoBertaEmbeddings": {"task": "embed", **TOKEN},
    "DistilBertEmbeddings": {"task": "embed", **TOKEN},
    "AlbertEmbeddings": {"task": "embed", **TOKEN},
    "DeBertaEmbeddings": {"task": "embed", **TOKEN},
    "XlnetEmbeddings": {"task": "embed", **TOKEN},
    "LongformerEmbeddings": {"task": "embed", **TOKEN},
    "BertSentenceEmbeddings": {"task": "embed_sentence", "output_level": "sentence", "pooling": "pooler"},
    "RoBertaSentenceEmbeddings": {"task": "embed_sentence", "output_level": "sentence", "pooling": "pooler"},
    "XlmRoBertaSentenceEmbeddings": {"task": "embed_sentence", "output_level": "sentence", "pooling": "pooler"},
    # the pooling inside John Snow Labs' exported graphs is not stated in Spark NLP's source: the
    # model's own files decide (sentence-transformers' modules), as its authors meant it
    "MPNetEmbeddings": {"task": "embed_sentence", "output_level": "sentence"},
    "E5Embeddings": {"task": "embed_sentence", "output_level": "sentence", "pooling": "mean", "normalize": True},
    "BGEEmbeddings": {"task": "embed_sentence", "output_level": "sentence", "pooling": "cls", "normalize": True},
}
WORD_NEAREST = "'en.embed.bert.base_uncased' (or, offline, 'en.embed.all_minilm_l6_v2')"
SENTENCE_NEAREST = "'en.embed_sentence.all_mpnet_base_v2' (or, offline, 'en.embed_sentence.all_minilm_l6_v2')"
# Annotators with no transformers equivalent, and why.
NO_EQUIVALENT: dict[str, str] = {
    "WordEmbeddingsModel": "static word vectors (GloVe, word2vec, fastText), not a transformers model",
    "Word2VecModel": "a word2vec model trained by John Snow Labs, static vectors, not a transformers model",
    "Doc2VecModel": "a doc2vec model trained by John Snow Labs, not a transformers model",
    "UniversalSentenceEncoder": "the Universal Sentence Encoder, a TensorFlow Hub model, no transformers equivalent",
    "ElmoEmbeddings": "ELMo, a TensorFlow/AllenNLP LSTM model with no transformers equivalent",
    "InstructorEmbeddings": "INSTRUCTOR pools over the text without its instruction, which nlu_lite does not reproduce",
}
SENTENCE_ANNOTATORS = {"UniversalSentenceEncoder", "Doc2VecModel", "InstructorEmbeddings"}


_ALIAS = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")


def _load(name: str) -> Any:
    path = HERE / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def nlu_names() -> dict[str, str]:
    book = _load("spellbook_embeddings.json")
    names = {k: v for k, v in book["models"].items() if k.split(".")[0] in ("en", "xx")}
    names.update(book["aliases"])
    return names


def hand_written() -> tuple[dict[str, str], set[str], set[str]]:
    """(JSL model -> spelling of the hand-written entry that loads it, every name those files
    define, every name their no_equivalent notes answer)."""
    by_model: dict[str, str] = {}
    names: set[str] = set()
    notes: set[str] = set()
    for file in sorted(REGISTRY.glob("*.yaml")):
        if file == OUT:
            continue
        entries, file_notes, _ = parse_file_tables(file)
        notes |= set(file_notes)
        for entry in entries:
            names |= {n.lower() for n in (entry.spelling, *entry.aliases)}
            if entry.nlu_model:
                by_model[entry.nlu_model] = entry.spelling
    return by_model, names, notes


def hand_written_columns() -> dict[str, tuple[str, str | None]]:
    """The output column of each hand-written entry -> (its spelling, its Hugging Face repository)."""
    columns: dict[str, tuple[str, str | None]] = {}
    for file in sorted(REGISTRY.glob("*.yaml")):
        if file != OUT:
            for entry in parse_file_tables(file)[0]:
                columns[entry.column] = (entry.spelling, entry.source.hf)
    return columns


def same_repository(a: str, b: str | None) -> bool:
    """One repository under two ids: the hub moved its first models under an organisation
    ('distilroberta-base' is now 'distilbert/distilroberta-base') and redirects the old id."""
    if b is None:
        return False
    return a == b or ("/" not in a and b.split("/", 1)[-1] == a) or ("/" not in b and a.split("/", 1)[-1] == b)


def original(jsl: str, cards: dict[str, Any], researched: dict[str, Any]) -> dict[str, Any] | None:
    """The Hugging Face original of a JSL model with its evidence, or None (with the reason in
    ``researched``)."""
    found = researched.get(jsl)
    if found is not None:
        return found if found.get("answer") == "same" and found.get("hf_repo") else None
    card = cards.get(jsl, {})
    if card.get("kind") == "hf_import" and card.get("hf_repo"):
        return {"hf_repo": card["hf_repo"], "evidence": card.get("card"), "revision": None}
    if jsl.startswith("mpnet_embedding_"):  # a twin card of the same import names the repository
        twins = {k.lower(): v for k, v in cards.items()}
        twin = twins.get(jsl[len("mpnet_embedding_") :].lower(), {})
        if twin.get("kind") == "hf_import" and twin.get("hf_repo"):
            return {"hf_repo": twin["hf_repo"], "evidence": twin.get("card"), "revision": None}
    return None


def _spelling(names: list[str], jsl: str, task: str) -> tuple[str, list[str]]:
    """The entry's spelling (NLU's first full name) and the rest as aliases."""
    full = [n for n in names if re.match(rf"^(en|xx)\.{task}\.[A-Za-z0-9_.]+$", n)]
    spelling = full[0] if full else f"{'xx' if any(n.startswith('xx.') for n in names) else 'en'}.{task}.{jsl}"
    spelling = spelling.replace("-", "_")
    return spelling, [n for n in names if n != spelling]


def entry_for(jsl: str, names: list[str], annotator: str, found: dict[str, Any]) -> dict[str, Any]:
    settings = ANNOTATORS[annotator]
    spelling, aliases = _spelling(names, jsl, settings["task"])
    repo = found["hf_repo"]
    source: dict[str, Any] = {"hf": repo}
    if found.get("revision"):
        source["revision"] = found["revision"]
    else:
        source["verified"] = False
    entry: dict[str, Any] = {"spelling": spelling}
    if aliases:
        entry["aliases"] = sorted(aliases, key=str.lower)
    entry.update({"language": spelling.split(".")[0], **settings, "source": source, "nlu_model": jsl})
    note = f" {found['note']}" if found.get("note") else ""
    entry["description"] = (
        f"NLU's {jsl} ({annotator}), imported by John Snow Labs from {repo} ({found.get('evidence')}).{note}"
    )
    return entry


def no_equivalent_note(jsl: str, annotator: str, researched: dict[str, Any], cards: dict[str, Any]) -> str:
    nearest = SENTENCE_NEAREST if ("Sentence" in annotator or annotator in SENTENCE_ANNOTATORS) else WORD_NEAREST
    why = NO_EQUIVALENT.get(annotator)
    if why is None:
        why = (researched.get(jsl) or {}).get("reason") or "its Hugging Face original could not be confirmed"
    return f"NLU loads {jsl} ({annotator}): {why.rstrip('.')}. Nearest here: {nearest}."


def generate() -> dict[str, Any]:
    names = nlu_names()
    annotators, cards, researched = _load("jsl_annotators.json"), _load("jsl_cards.json"), _load("originals.json")
    by_model, defined, noted = hand_written()
    columns = hand_written_columns()
    by_jsl: dict[str, list[str]] = defaultdict(list)
    for name, jsl in names.items():
        by_jsl[jsl].append(name)
    table: dict[str, str] = {}
    notes: dict[str, str] = {}
    models: list[dict[str, Any]] = []
    for jsl, group in sorted(by_jsl.items()):
        annotator = annotators[jsl]
        if jsl in by_model:
            table.update({n: by_model[jsl] for n in group if n.lower() not in defined})
            continue
        found = original(jsl, cards, researched) if annotator in ANNOTATORS else None
        if found is not None:
            # a name outside the alias grammar (NLU has one with spaces, one ending in '.') is
            # answered through the table instead
            plain = [n for n in group if _ALIAS.match(n)]
            entry = entry_for(jsl, plain, annotator, found)
            column = entry["spelling"].replace(".", "_") + "_embeddings"
            if column in columns:  # the same output column as a hand-written entry: one model, one column
                spelling, repo = columns[column]
                if not same_repository(found["hf_repo"], repo):
                    raise SystemExit(f"{entry['spelling']} ({found['hf_repo']}) would share the column of {spelling}")
                table.update({n: spelling for n in group if n.lower() not in defined})
                continue
            models.append(entry)
            table.update({n: entry["spelling"] for n in group if not _ALIAS.match(n)})
            continue
        note = no_equivalent_note(jsl, annotator, researched, cards)
        notes.update({n: note for n in group if n.lower() not in noted and n.lower() not in defined})
    return {
        "family": "nlu_namespace",
        "defaults": {"licence": "see the model card on the Hugging Face hub"},
        "nlu_names": dict(sorted(table.items())),
        "no_equivalent": dict(sorted(notes.items())),
        "models": sorted(models, key=lambda e: e["spelling"].lower()),
    }


HEADER = """\
# GENERATED by tools/nlu_namespace/generate.py from NLU 5.4.1's spellbook and John Snow Labs'
# model cards: do not edit by hand; change the tool's inputs and run it again.
#
# An answer for every en/xx embedding name NLU 5.4.1 knows:
# - nlu_names: NLU names of models a hand-written registry file already has
# - models: the Hugging Face original of the model NLU loads, with NLU's settings for its
#   annotator; 'verified: false' without a revision tracks the repository's main branch (no commit
#   could be confirmed): loading warns once, records the commit, and `nlu-lite lock` freezes it
# - no_equivalent: why there is none, and the nearest catalogue model
"""


def render(doc: dict[str, Any]) -> str:
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return HEADER + body


def emit(out: Path, text: str, tool: str, names_are: str) -> int:
    """``--check``: exit status 1 if ``out`` differs from ``text``; else write it (a temporary file
    beside it, renamed when complete) and say what it holds."""
    parser = argparse.ArgumentParser(description=f"generate registry/{out.name}")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file on disk is out of date")
    args = parser.parse_args()
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else ""
        if current != text:
            print(f"{out} is out of date: run python tools/nlu_namespace/{tool}", file=sys.stderr)
            return 1
        return 0
    tmp = out.with_suffix(".yaml.part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    doc = yaml.safe_load(text)
    print(
        f"wrote {out}: {len(doc['models'])} models, {len(doc['nlu_names'])} NLU names {names_are}, "
        f"{len(doc['no_equivalent'])} no-equivalent names"
    )
    return 0


def main() -> int:
    return emit(OUT, render(generate()), "generate.py", "of hand-written entries")


if __name__ == "__main__":
    sys.exit(main())
