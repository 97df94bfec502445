#!/usr/bin/env python3
"""Build the inputs of generate_tasks.py: NLU 5.4.1's en/xx names of the families classify, ner,
pos and sentiment, and the Hugging Face original each one's John Snow Labs model card names.

Writes, next to this script:

- ``spellbook_tasks.json``: {"models": {nlu_name: {"jsl", "family", "annotator"}},
  "aliases": {alias: jsl}} -- the names from the first automated pass
  (/work/shared/nlu/spellbook_all.tsv), each one checked against NLU's own ``nlu/spellbook.py``
  (``pretrained_models_references`` for the JSL model, ``nlp_ref_to_anno_class`` for the
  annotator); a disagreement stops the run.  "aliases" are NLU's bare aliases
  (``component_alias_references``) of models in these families: generate_tasks.py leaves them out.
- ``jsl_task_cards.json``: "JSL model@lang" -> {lang, card, hf_repo, evidence, kind, ...}, re-derived
  from the cards' text with extract_cards.py's rules (``pick``/``classify``: the repository a
  References / "imported from" line names; cards saying John Snow Labs trained the model are
  ``jsl_trained``), and compared with the first pass's ``hf_repo_named_on_card`` column
  (``first_pass_hf_repo`` is kept where they differ, for review).

Usage:
    python tools/nlu_namespace/extract_tasks.py SPARK_NLP_GIT_DIR NLU_GIT_DIR [--tsv FILE]

SPARK_NLP_GIT_DIR: a JohnSnowLabs/spark-nlp snapshot (used: the fork edson-github/spark-nlp at
543faafa3b91, an unmodified copy of upstream, see extract_cards.py); NLU_GIT_DIR: JohnSnowLabs/nlu
at 1bc034114e6e ("release/541").  Standard library only; no network.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from extract_cards import parse_card, pick, read_snapshot, snapshot_label  # noqa: E402

FAMILIES = ("classify", "ner", "pos", "sentiment")
LANGS = ("en", "xx")


def nlu_spellbook(git_dir: str) -> tuple[dict[str, dict[str, str]], dict[str, str], dict[str, list]]:
    """(lang -> {name: jsl}, jsl -> annotator class, alias -> [jsl, kind]) from NLU's spellbook.py."""
    text = subprocess.run(
        ["git", "--git-dir", git_dir, "show", "HEAD:nlu/spellbook.py"], capture_output=True, text=True, check=True
    ).stdout
    wanted = {"pretrained_models_references", "nlp_ref_to_anno_class", "component_alias_references"}
    found: dict[str, object] = {}
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id in wanted and t.id not in found:
                    try:
                        found[t.id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
    return (
        found["pretrained_models_references"],  # type: ignore[return-value]
        found["nlp_ref_to_anno_class"],  # type: ignore[return-value]
        found.get("component_alias_references", {}),  # type: ignore[return-value]
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("spark_nlp_git_dir")
    ap.add_argument("nlu_git_dir")
    ap.add_argument("--tsv", default="/work/shared/nlu/spellbook_all.tsv")
    args = ap.parse_args()

    refs, anno, aliases = nlu_spellbook(args.nlu_git_dir)
    rows = [
        r
        for r in csv.DictReader(open(args.tsv, encoding="utf-8"), delimiter="\t")
        if r["family"] in FAMILIES and r["lang"] in LANGS
    ]
    models: dict[str, dict[str, str]] = {}
    problems = []
    for r in rows:
        name, jsl = r["nlu_name"], r["jsl_model"]
        if refs.get(r["lang"], {}).get(name) != jsl:
            problems.append(f"{name}: first pass {jsl}, NLU {refs.get(r['lang'], {}).get(name)}")
        if anno.get(jsl) != r["annotator"]:
            problems.append(f"{name}: first pass annotator {r['annotator']}, NLU {anno.get(jsl)}")
        models[name] = {"jsl": jsl, "family": r["family"], "annotator": r["annotator"]}
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    jsls = {m["jsl"] for m in models.values()}
    bare = {a: v[0] for a, v in aliases.items() if v and v[0] in jsls}
    # NLU's component lists (pipelines) behind bare task aliases ('ner', 'sentiment.imdb', ...)
    bare.update(
        {
            a: v[0]
            for a, v in aliases.items()
            if len(v) > 1 and v[1] == "component_list" and a.split(".")[0] in (*FAMILIES, "lang")
        }
    )
    book = {"models": dict(sorted(models.items())), "aliases": dict(sorted(bare.items()))}
    (HERE / "spellbook_tasks.json").write_text(json.dumps(book, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    # cards: every card of the snapshot whose name is one of these JSL models.  Spark NLP's
    # pretrained(name, lang) is one model per language: 'xx' and 'en' cards of one name may name
    # two repositories (xlmroberta_ner_*_panx: panx-de-fr and panx-en), so each (model, language)
    # gets its own card
    pairs = sorted({(m["jsl"], name.split(".")[0]) for name, m in models.items()}, key=lambda p: (p[0].lower(), p[1]))
    want = {j.lower() for j in jsls}
    label = snapshot_label(args.spark_nlp_git_dir)
    by_name: dict[str, list] = {}
    for path, text in read_snapshot(args.spark_nlp_git_dir):
        c = parse_card(path, text)
        if (c["name"] or "").lower() in want:
            c["source"], c["rank"] = label, 0
            by_name.setdefault(c["name"].lower(), []).append(c)
    first_pass = {(r["jsl_model"], r["lang"]): r for r in rows}
    result = {}
    for jsl, lang in pairs:
        cands = by_name.get(jsl.lower(), [])
        if cands:
            row = pick(jsl, lang, cands)
        else:
            row = {"lang": lang, "card": None, "hf_repo": None, "kind": "no_card",
                   "evidence": "no card with this name in the snapshot read"}
        row.pop("source", None)
        fp = first_pass[(jsl, lang)]
        if (fp["hf_repo_named_on_card"] or None) != row["hf_repo"]:
            row["first_pass_hf_repo"] = fp["hf_repo_named_on_card"] or None
        result[f"{jsl}@{lang}"] = row
    (HERE / "jsl_task_cards.json").write_text(
        json.dumps({"snapshot": label, "cards": result}, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    kinds: dict[str, int] = {}
    for r in result.values():
        kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
    diff = sum("first_pass_hf_repo" in r for r in result.values())
    print(f"{len(models)} names, {len(pairs)} (JSL model, language) pairs, {len(bare)} aliases; cards {kinds}; "
          f"{diff} differ from the first pass", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
