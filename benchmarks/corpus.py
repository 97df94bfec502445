"""A deterministic English corpus from text that ships with every CPython: the reference
manual's topic pages (``pydoc_data.topics``), split into sentences by nlu_lite's own splitter."""

from __future__ import annotations

import re


def _paragraphs() -> list[str]:
    from pydoc_data.topics import topics

    out = []
    for key in sorted(topics):
        for para in re.split(r"\n\s*\n", topics[key]):
            flat = " ".join(para.split())
            # prose, not code: mostly letters, a few words at least
            letters = sum(c.isalpha() for c in flat)
            if len(flat.split()) >= 8 and letters > 0.7 * len(flat.replace(" ", "")):
                out.append(flat)
    return out


def sentences(n: int = 2000, min_words: int = 4, max_words: int = 60) -> list[str]:
    """``n`` distinct sentences, in a fixed order: the manual's (about 2,500), then again with the
    round number appended (`` [2]``, `` [3]``, …), so that no text repeats (predict runs a repeated
    text once, which would flatter it against engines that run every row)."""
    try:
        from nlu_lite.tasks.sentences import split_spans
    except ModuleNotFoundError:  # a checkout from before the subpackages (benchmarks/compare.py)
        from nlu_lite.sentences import split_spans  # type: ignore[import-not-found,no-redef]

    found: dict[str, None] = {}
    for para in _paragraphs():
        for b, e in split_spans(para):
            s = para[b:e]
            if min_words <= len(s.split()) <= max_words:
                found.setdefault(s)
    distinct = list(found)
    return [
        distinct[i % len(distinct)] + (f" [{i // len(distinct) + 1}]" if i >= len(distinct) else "") for i in range(n)
    ]


def documents(n: int = 8, words: int = 5000) -> list[str]:
    """``n`` long documents of about ``words`` words each (far past any model's window)."""
    paras = _paragraphs()
    docs, i = [], 0
    for _ in range(n):
        parts, count = [], 0
        while count < words:
            p = paras[i % len(paras)]
            parts.append(p)
            count += len(p.split())
            i += 1
        docs.append("\n\n".join(parts))
    return docs
