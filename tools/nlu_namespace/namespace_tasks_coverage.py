#!/usr/bin/env python3
"""How much of NLU 5.4.1's classify / ner / pos / sentiment namespace nlu_lite answers, and how.

Every en/xx name of these families in ``spellbook_tasks.json`` (NLU's spellbook; see
extract_tasks.py) is resolved through nlu_lite's real registry and counted, per family and
language group, as

- same:           it loads an entry whose Hugging Face repository is the one the name's John Snow
                  Labs model card names (``jsl_task_cards.json``, or ``originals_tasks.json``)
- no-equivalent:  it answers with NoEquivalentError, saying why and naming the nearest model
- unknown:        it is not in the registry at all
- wrong:          it loads an entry with another repository than the card's (or a card naming none)

NLU's aliases of these families (``ner``, ``en.pos``, ``sentiment``, ...; generate_tasks.left_out)
are answered by hand-written stand-ins elsewhere: they are counted apart, under "left out".

Usage:
    python tools/nlu_namespace/namespace_tasks_coverage.py [--check] [--list KIND]

``--check`` exits 1 unless same >= 85 % of the en names, unknown == 0 and wrong == 0.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
KINDS = ("same", "no-equivalent", "unknown", "wrong")
FAMILIES = ("classify", "ner", "pos", "sentiment")
LANGS = ("en", "xx")


def _tools():
    sys.path.insert(0, str(HERE))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    try:
        import generate
        import generate_tasks
    finally:
        sys.path.remove(str(HERE))
    return generate, generate_tasks


def nlu_names() -> dict[str, dict[str, str]]:
    """NLU's en/xx names of the four families -> {jsl, family, annotator} (aliases included)."""
    return _tools()[1].book()["models"]


def classify(names: dict[str, dict[str, str]]) -> dict[str, tuple[str, str]]:
    """name -> (kind, detail)."""
    from nlu_lite.errors import NoEquivalentError
    from nlu_lite.hub.registry import get_registry

    generate, tasks = _tools()
    cards, researched = generate._load("jsl_task_cards.json").get("cards", {}), generate._load("originals_tasks.json")
    registry = get_registry()
    out: dict[str, tuple[str, str]] = {}
    for name, meta in names.items():
        key = f"{meta['jsl']}@{name.split('.')[0]}"
        entry = registry.find(name)
        if entry is None:
            try:
                registry.get(name)
            except NoEquivalentError as exc:
                out[name] = ("no-equivalent", str(exc).splitlines()[0])
            except LookupError:
                out[name] = ("unknown", meta["jsl"])
            else:  # pragma: no cover - get() finds what find() finds
                out[name] = ("unknown", meta["jsl"])
            continue
        found = tasks.original(key, cards, researched)
        if found is not None and generate.same_repository(found["hf_repo"], entry.source.hf):
            out[name] = ("same", entry.spelling)
        else:
            card = found["hf_repo"] if found else "none"
            out[name] = ("wrong", f"card {card}, nlu_lite {entry.spelling} ({entry.source.hf})")
    return out


def group(name: str, names: dict[str, dict[str, str]]) -> tuple[str, str]:
    return names[name]["family"], name.split(".")[0]


def report(result: dict[str, tuple[str, str]], names: dict[str, dict[str, str]], left: set[str]) -> str:
    lines = ["NLU 5.4.1 en/xx names of the families classify, ner, pos, sentiment (aliases apart)"]
    lines.append(f"  {'family':<10} {'lang':<4} {'names':>5}  " + "  ".join(f"{k:>13}" for k in KINDS))
    totals: Counter = Counter()
    for family in FAMILIES:
        for lang in LANGS:
            mine = [n for n in result if n.lower() not in left and group(n, names) == (family, lang)]
            if not mine:
                continue
            counts = Counter(result[n][0] for n in mine)
            totals.update({(lang, k): counts[k] for k in KINDS})
            totals[(lang, "names")] += len(mine)
            lines.append(
                f"  {family:<10} {lang:<4} {len(mine):>5}  "
                + "  ".join(f"{counts[k]:>5} ({100 * counts[k] / len(mine):5.1f}%)" for k in KINDS)
            )
    for lang in LANGS:
        n = totals[(lang, "names")]
        if n:
            lines.append(
                f"  {'all':<10} {lang:<4} {n:>5}  "
                + "  ".join(f"{totals[(lang, k)]:>5} ({100 * totals[(lang, k)] / n:5.1f}%)" for k in KINDS)
            )
    aside = sorted(n for n in result if n.lower() in left)
    lines.append(f"  left out (NLU aliases answered by stand-ins elsewhere): {len(aside)} full names {aside}")
    return "\n".join(lines)


def meets_targets(result: dict[str, tuple[str, str]], names: dict[str, dict[str, str]], left: set[str]) -> bool:
    counted = {n: r for n, r in result.items() if n.lower() not in left}
    en = [r for n, r in counted.items() if n.startswith("en.")]
    kinds = Counter(kind for kind, _ in counted.values())
    same_en = sum(kind == "same" for kind, _ in en)
    return same_en >= 0.85 * len(en) and kinds["unknown"] == 0 and kinds["wrong"] == 0


def main() -> int:
    parser = argparse.ArgumentParser(description="NLU task namespace coverage of nlu_lite's registry")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the targets are met")
    parser.add_argument("--list", choices=KINDS, help="also list the names of one kind")
    args = parser.parse_args()
    names = nlu_names()
    left = _tools()[1].left_out()
    result = classify(names)
    print(report(result, names, left))
    if args.list:
        for name, (kind, detail) in sorted(result.items()):
            if kind == args.list:
                print(f"{name}\t{detail}")
    if args.check and not meets_targets(result, names, left):
        print("targets not met: same >= 85 % of en names, unknown 0, wrong 0", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
