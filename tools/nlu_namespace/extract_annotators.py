#!/usr/bin/env python3
"""Record which Spark NLP annotator class NLU 5.4.1 builds for each John Snow Labs model behind an
en/xx embedding name (``Spellbook.nlp_ref_to_anno_class`` in the wheel's ``nlu/spellbook.py``).

The wheel is read as text and parsed with ``ast``; nothing of NLU is imported or copied beyond
the (model name -> class name) pairs this project needs.

Usage:
    pip download --no-deps nlu==5.4.1 && unzip -q nlu-5.4.1-py3-none-any.whl -d WHEEL
    python tools/nlu_namespace/extract_annotators.py WHEEL [--out FILE]
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def anno_classes(wheel: Path) -> dict[str, str]:
    tree = ast.parse((wheel / "nlu" / "spellbook.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "nlp_ref_to_anno_class" for t in node.targets
        ):
            value = ast.literal_eval(node.value)
            return {str(k): str(v) for k, v in value.items()}
    raise SystemExit("nlp_ref_to_anno_class not found in the wheel's spellbook.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help="folder the NLU wheel was unzipped into")
    parser.add_argument("--spellbook", type=Path, default=HERE / "spellbook_embeddings.json")
    parser.add_argument("--out", type=Path, default=HERE / "jsl_annotators.json")
    args = parser.parse_args()
    book = json.loads(args.spellbook.read_text())
    wanted = set(book["models"].values()) | set(book["aliases"].values())
    classes = anno_classes(args.wheel)
    out = {name: classes.get(name) for name in sorted(wanted)}
    args.out.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    missing = sorted(k for k, v in out.items() if v is None)
    print(f"{len(out)} models, {len(out) - len(missing)} with an annotator class; without: {missing[:10]}")


if __name__ == "__main__":
    main()
