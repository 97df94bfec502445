#!/usr/bin/env python3
"""Generate ``registry/nlu_namespace_tasks.yaml``: an answer for every en/xx name of NLU 5.4.1 in
the families classify, ner, pos and sentiment.

Inputs, all in this folder (made by extract_tasks.py):

- ``spellbook_tasks.json``: NLU's names, the John Snow Labs (JSL) model each loads, its family and
  the Spark NLP annotator NLU builds (checked against NLU 5.4.1's ``nlu/spellbook.py``), and NLU's
  bare aliases of these families, which this file leaves out (hand-written stand-ins answer them)
- ``jsl_task_cards.json``: the Hugging Face original each (JSL model, language)'s model card names,
  re-derived from the cards with extract_cards.py's rules
- ``originals_tasks.json`` (optional): answers researched by hand, as ``originals.json`` is for
  generate.py ({"model@lang": {"answer": "same", "hf_repo", "revision", "evidence"} or
  {"answer": "no_equivalent", "reason"}})

and the other registry files (their names and ``nlu_model`` keys).  Each NLU name gets one answer,
as in generate.py:

1. a hand-written entry loads its JSL model: the name goes into the ``nlu_names`` table;
2. the card names the original: a generated entry (the task from the annotator and NLU's family,
   sentence level for sequence classifiers and token level for token classifiers, the repository
   tracking main unless a commit was confirmed);
3. otherwise a ``no_equivalent`` note saying why and naming NLU's default alias of the task, which
   loads a stand-in (``NEAREST``).

Usage:  python tools/nlu_namespace/generate_tasks.py [--check]
``--check`` exits 1 if the file on disk differs from what the inputs give (CI-style).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from generate import REGISTRY, _load, emit, same_repository  # noqa: E402
from generate import OUT as EMBEDDINGS_OUT  # noqa: E402

from nlu_lite.hub import registry as _registry  # noqa: E402


def _parse(file: Path) -> tuple[list[Any], dict[str, str], dict[str, str], dict[str, str]]:
    """A registry file's entries, no_equivalent notes, nlu_names table and stand-ins (NLU name ->
    the spelling it loads instead), where the registry reads stand-ins."""
    if hasattr(_registry, "parse_file_all"):
        entries, notes, table, stand_ins = _registry.parse_file_all(file)
        return entries, notes, table, {k.lower(): v.spelling for k, v in stand_ins.items()}
    entries, notes, table = _registry.parse_file_tables(file)
    return entries, notes, table, {}

OUT = REGISTRY / "nlu_namespace_tasks.yaml"
FAMILIES = ("classify", "ner", "pos", "sentiment")

# The nearest model of each task: at present the catalogue has no built-in classifier, so NLU's
# default alias of the task, which loads a stand-in.  Change here to point elsewhere.
NEAREST_NER = "en.ner"
NEAREST_POS = "en.pos"
NEAREST_CLASSIFY = "en.sentiment"
NEAREST_SENTIMENT = "en.sentiment"
NEAREST = {"ner": NEAREST_NER, "pos": NEAREST_POS, "classify": NEAREST_CLASSIFY, "sentiment": NEAREST_SENTIMENT}

# NLU's task-default aliases that are also full names; like the bare aliases, left to the
# hand-written stand-ins.
DEFAULT_ALIASES = ("en.ner", "en.pos", "en.sentiment", "en.classify")

# Spark NLP annotators with a transformers original: what nlu_lite's tasks do with them.
SEQUENCE = {"output_level": "sentence"}
TOKEN = {"output_level": "token"}


def settings(annotator: str, family: str) -> dict[str, Any] | None:
    if annotator.endswith("ForSequenceClassification"):
        return {"task": "sentiment" if family == "sentiment" else "classify", **SEQUENCE}
    if annotator.endswith("ForTokenClassification"):
        return {"task": "pos" if family == "pos" else "ner", **TOKEN}
    return None


# Annotators with no transformers equivalent, and why.
NO_EQUIVALENT: dict[str, str] = {
    "NerDLModel": "a Spark NLP NerDLModel (a TensorFlow char-CNN BiLSTM-CRF over separate word embeddings), "
    "not a transformers model",
    "ClassifierDLModel": "a Spark NLP ClassifierDLModel (a TensorFlow classifier over separate sentence "
    "embeddings), not a transformers model",
    "MultiClassifierDLModel": "a Spark NLP MultiClassifierDLModel (a TensorFlow multi-label classifier over "
    "separate sentence embeddings), not a transformers model",
    "SentimentDLModel": "a Spark NLP SentimentDLModel (a TensorFlow classifier over separate sentence "
    "embeddings), not a transformers model",
    "PerceptronModel": "a Spark NLP averaged-perceptron part-of-speech tagger, not a transformers model",
    "ViveknSentimentModel": "Spark NLP's Vivekn naive-Bayes sentiment model, not a transformers model",
    "LanguageDetectorDL": "a Spark NLP LanguageDetectorDL (a TensorFlow character n-gram model), "
    "not a transformers model",
}
SNAPSHOT = "JohnSnowLabs/spark-nlp"

_ALIAS = re.compile(r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$")


def book() -> dict[str, Any]:
    return _load("spellbook_tasks.json")


def left_out() -> set[str]:
    """NLU's aliases of these families, answered by hand-written stand-ins elsewhere (lower case)."""
    b = book()
    return {a.lower() for a in b["aliases"]} | {a.lower() for a in DEFAULT_ALIASES}


def task_names() -> dict[str, dict[str, str]]:
    """NLU's en/xx names of the four families this file answers -> {jsl, family, annotator}."""
    skip = left_out()
    return {n: m for n, m in book()["models"].items() if n.lower() not in skip}


def others() -> tuple[dict[str, str], dict[str, str], set[str], dict[str, tuple[str, str | None]]]:
    """The other registry files: (JSL model -> spelling of an entry loading it, every name they
    define -> its entry's spelling, every name their no_equivalent notes answer, output column ->
    (spelling, repository))."""
    by_model: dict[str, str] = {}
    names: dict[str, str] = {}
    notes: set[str] = set()
    columns: dict[str, tuple[str, str | None]] = {}
    for file in sorted(REGISTRY.glob("*.yaml")):
        if file == OUT:
            continue
        entries, file_notes, table, stand_ins = _parse(file)
        notes |= set(file_notes)
        names.update(table)
        names.update(stand_ins)
        for entry in entries:
            names.update({n.lower(): entry.spelling for n in (entry.spelling, *entry.aliases)})
            columns[entry.column.lower()] = (entry.spelling, entry.source.hf)
            if entry.nlu_model and file != EMBEDDINGS_OUT:
                by_model[entry.nlu_model] = entry.spelling
    return by_model, names, notes, columns


def original(key: str, cards: dict[str, Any], researched: dict[str, Any]) -> dict[str, Any] | None:
    """The Hugging Face original of a (JSL model, language) with its evidence, or None."""
    found = researched.get(key)
    if found is not None:
        return found if found.get("answer") == "same" and found.get("hf_repo") else None
    card = cards.get(key, {})
    if card.get("kind") == "hf_import" and card.get("hf_repo"):
        return {"hf_repo": card["hf_repo"], "evidence": card.get("card"), "revision": None}
    return None


def why_none(key: str, annotator: str, cards: dict[str, Any], researched: dict[str, Any]) -> str:
    if annotator in NO_EQUIVALENT:
        return NO_EQUIVALENT[annotator]
    if (researched.get(key) or {}).get("reason"):
        return researched[key]["reason"]
    card = cards.get(key) or {}
    if card.get("kind") == "no_card" or not card.get("card"):
        return f"{SNAPSHOT} has no model card for it, so no Hugging Face original can be confirmed"
    return (
        f"its model card ({card['card']}) names no Hugging Face model it was imported from "
        "(a model John Snow Labs trained itself)"
    )


def nearest_note(task: str, defined: dict[str, str]) -> str:
    """'Nearest here: ...' for a task: the catalogue spelling NLU's default alias of the task loads
    (a quoted spelling NoEquivalentError offers as a suggestion), and the alias."""
    alias = NEAREST[task]
    spelling = defined.get(alias.lower()) or defined.get(("en." + alias).lower())
    if spelling is None:
        return f"Nearest here: '{alias}' (NLU's default {task} model, answered by a stand-in)."
    return f"Nearest here: '{spelling}' (what NLU's default '{alias}' loads here, a stand-in)."


def _spellings(names: list[str], jsl: str, lang: str, task: str) -> list[str]:
    """Candidate spellings, best first: NLU's full names of the task, then one made from the model."""
    full = [n for n in names if re.match(rf"^{lang}\.{task}\.[A-Za-z0-9_.]+$", n) and n.split(".")[1] == task]
    made = f"{lang}.{task}." + re.sub(r"[^A-Za-z0-9_]", "_", jsl)
    return [*full, made, made + "_" + lang]


def generate() -> dict[str, Any]:
    names = task_names()
    cards = _load("jsl_task_cards.json").get("cards", {})
    researched = _load("originals_tasks.json")
    by_model, defined, noted, columns = others()
    groups: dict[str, list[str]] = defaultdict(list)
    for name, m in names.items():
        groups[f"{m['jsl']}@{name.split('.')[0]}"].append(name)
    table: dict[str, str] = {}
    notes: dict[str, str] = {}
    models: list[dict[str, Any]] = []
    taken: dict[str, tuple[str, str | None]] = dict(columns)  # output column -> (spelling, repo)
    for key, group in sorted(groups.items(), key=lambda kv: kv[0].lower()):
        group = sorted(group, key=lambda n: (n.lower(), n))
        jsl, lang = key.rsplit("@", 1)
        meta = names[group[0]]
        annotator = meta["annotator"]
        families = {names[n]["family"] for n in group}
        family = meta["family"] if len(families) == 1 else sorted(families)[0]
        open_names = [n for n in group if n.lower() not in defined]
        if jsl in by_model:
            table.update({n: by_model[jsl] for n in open_names})
            continue
        todo = settings(annotator, family)
        found = original(key, cards, researched) if todo is not None else None
        if found is None:
            task = settings(annotator, family)["task"] if todo else ("pos" if family == "pos" else family)
            note = (
                f"NLU loads {jsl} ({annotator}): {why_none(key, annotator, cards, researched).rstrip('.')}. "
                + nearest_note(task, defined)
            )
            notes.update({n: note for n in open_names if n.lower() not in noted})
            continue
        repo = found["hf_repo"]
        plain = [n for n in open_names if _ALIAS.match(n)]
        spelling = None
        for cand in _spellings(plain, jsl, lang, todo["task"]):
            column = cand.replace(".", "_").lower() + "_embeddings"
            if cand.lower() in defined:
                continue
            if column not in taken:
                spelling = cand
                break
            if same_repository(repo, taken[column][1]):  # one repository, one column: one entry
                spelling = taken[column][0]
                break
        if spelling is None:
            raise SystemExit(f"no free spelling for {key} ({group})")
        if any(e["spelling"] == spelling for e in models) or spelling.lower() in defined:
            table.update({n: spelling for n in open_names if n != spelling})
            continue
        taken[spelling.replace(".", "_").lower() + "_embeddings"] = (spelling, repo)
        aliases = sorted({n for n in plain if n != spelling}, key=str.lower)
        source: dict[str, Any] = {"hf": repo}
        if found.get("revision"):
            source.update({"revision": found["revision"], "verified": True})
        entry: dict[str, Any] = {"spelling": spelling}
        if aliases:
            entry["aliases"] = aliases
        if lang != "en":  # the defaults say en
            entry["language"] = lang
        entry.update({**todo, "source": source, "nlu_model": jsl})
        note = f" {found['note']}" if found.get("note") else ""
        entry["description"] = (
            f"NLU's {jsl} ({annotator}, {lang}), imported by John Snow Labs from {repo} "
            f"(model card {SNAPSHOT} {found.get('evidence')}).{note}"
        )
        models.append(entry)
        table.update({n: spelling for n in open_names if not _ALIAS.match(n)})
    return {
        "family": "nlu_namespace",
        "defaults": {
            "language": "en",
            "licence": "see the model card on the Hugging Face hub",
            "source": {"verified": False},
        },
        "nlu_names": dict(sorted(table.items())),
        "no_equivalent": dict(sorted(notes.items())),
        "models": sorted(models, key=lambda e: e["spelling"].lower()),
    }


HEADER = """\
# GENERATED by tools/nlu_namespace/generate_tasks.py from NLU 5.4.1's spellbook and John Snow Labs'
# model cards: do not edit by hand; change the tool's inputs and run it again.
#
# An answer for every en/xx name NLU 5.4.1 knows in the families classify, ner, pos and sentiment
# (NLU's bare aliases -- 'ner', 'sentiment', 'en.pos', ... -- are answered elsewhere):
# - nlu_names: NLU names answered by an entry under another spelling
# - models: the Hugging Face original of the model NLU loads (the repository its John Snow Labs
#   model card names); 'verified: false' (the defaults) without a revision tracks the repository's
#   main branch: loading warns once, records the commit, and `nlu-lite lock` freezes it
# - no_equivalent: why there is none, and the nearest model
"""


def render(doc: dict[str, Any]) -> str:
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100, default_flow_style=False)
    return HEADER + body


def main() -> int:
    return emit(OUT, render(generate()), "generate_tasks.py", "in the table")


if __name__ == "__main__":
    sys.exit(main())
