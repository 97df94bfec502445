#!/usr/bin/env python3
"""How much of NLU 5.4.1's embedding namespace nlu_lite answers, and how.

Every en/xx embedding name and alias in NLU's spellbook (``spellbook_embeddings.json`` here,
extracted from the NLU wheel) is resolved through nlu_lite's registry and counted as

- same:           it loads the John Snow Labs model NLU loads for that name (its ``nlu_model``), or
                  that model's Hugging Face original (two John Snow Labs imports of one repository
                  share one entry, as their output columns would be one)
- no-equivalent:  it answers with NoEquivalentError, saying why and naming the nearest model
- unknown:        it is not in the registry at all
- wrong:          it loads an entry whose ``nlu_model`` is another model than NLU's

Usage:
    python tools/nlu_namespace/namespace_coverage.py [--check] [--list KIND]

``--check`` exits 1 unless same >= 85 %, unknown == 0 and wrong == 0.  README.md quotes the output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPELLBOOK = HERE / "spellbook_embeddings.json"
KINDS = ("same", "no-equivalent", "unknown", "wrong")


def nlu_names(spellbook: Path = SPELLBOOK) -> dict[str, str]:
    """NLU's en/xx embedding names and aliases -> the John Snow Labs model each loads."""
    book = json.loads(spellbook.read_text(encoding="utf-8"))
    names = {k: v for k, v in book["models"].items() if k.split(".")[0] in ("en", "xx")}
    names.update(book["aliases"])
    return names


def classify(names: dict[str, str]) -> dict[str, tuple[str, str]]:
    """name -> (kind, detail)."""
    from nlu_lite.errors import NoEquivalentError
    from nlu_lite.hub.registry import get_registry

    sys.path.insert(0, str(HERE))
    try:
        from generate import _load, original, same_repository
    finally:
        sys.path.remove(str(HERE))
    cards, researched = _load("jsl_cards.json"), _load("originals.json")
    registry = get_registry()
    out: dict[str, tuple[str, str]] = {}
    for name, jsl in names.items():
        try:
            entry = registry.find(name)
        except NoEquivalentError as exc:  # find() does not raise it; get() does
            out[name] = ("no-equivalent", str(exc))
            continue
        if entry is None:
            try:
                registry.get(name)
            except NoEquivalentError as exc:
                out[name] = ("no-equivalent", str(exc).splitlines()[0])
            except LookupError:
                out[name] = ("unknown", jsl)
            continue
        found = original(jsl, cards, researched) if entry.nlu_model != jsl else None
        if entry.nlu_model == jsl or (found is not None and same_repository(found["hf_repo"], entry.source.hf)):
            out[name] = ("same", entry.spelling)
        else:
            out[name] = ("wrong", f"NLU {jsl}, nlu_lite {entry.spelling} ({entry.nlu_model})")
    return out


def report(result: dict[str, tuple[str, str]]) -> str:
    counts = Counter(kind for kind, _ in result.values())
    total = len(result)
    lines = [f"NLU 5.4.1 en/xx embedding names: {total}"]
    for kind in KINDS:
        lines.append(f"  {kind:<14} {counts[kind]:>4}  ({100 * counts[kind] / total:5.1f} %)")
    return "\n".join(lines)


def meets_targets(result: dict[str, tuple[str, str]]) -> bool:
    counts = Counter(kind for kind, _ in result.values())
    return counts["same"] >= 0.85 * len(result) and counts["unknown"] == 0 and counts["wrong"] == 0


def main() -> int:
    parser = argparse.ArgumentParser(description="NLU namespace coverage of nlu_lite's registry")
    parser.add_argument("--check", action="store_true", help="exit 1 unless the targets are met")
    parser.add_argument("--list", choices=KINDS, help="also list the names of one kind")
    args = parser.parse_args()
    result = classify(nlu_names())
    print(report(result))
    if args.list:
        for name, (kind, detail) in sorted(result.items()):
            if kind == args.list:
                print(f"{name}\t{detail}")
    if args.check and not meets_targets(result):
        print("targets not met: same >= 85 %, unknown 0, wrong 0", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
