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
    """``n`` sentences (cycled if the manual runs out), in a fixed order."""
    from nlu_lite.sentences import split_spans

    found = []
    for para in _paragraphs():
        for b, e in split_spans(para):
            s = para[b:e]
            if min_words <= len(s.split()) <= max_words:
                found.append(s)
    return [found[i % len(found)] for i in range(n)]


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
