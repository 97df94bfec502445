"""Spark NLP's default ``Tokenizer``, as NLU 5.4.1 runs it, without Java: token spans with exact offsets.

NLU's word tokenizer is a bare ``Tokenizer()`` (``nlu/components/tokenizers/default_tokenizer/
default_tokenizer.py``: only input and output columns are set; no exceptions, context chars, split
chars or infix patterns).  It runs on each sentence (or the document) that NLU's DocumentAssembler
(``cleanupMode="shrink"``) and sentence detector produce.  Its rules come from three Spark NLP files
(repository JohnSnowLabs/spark-nlp):

``src/main/scala/com/johnsnowlabs/nlp/annotators/Tokenizer.scala``
    ``setDefault``: ``targetPattern = \\S+``, ``contextChars = . , ; : ! ? * - ( ) " '``,
    ``minLength = 0``; no exceptions, split chars, split pattern, prefix, suffix or infix patterns.
    ``buildRuleFactory`` turns the context chars into ONE rule, ``\\A([C]*)([^C](?:.*[^C])*)([C]*)\\z``
    (``C`` = the quoted context chars), the default prefix, infix and suffix, under ``MATCH_FIRST``.
``src/main/scala/com/johnsnowlabs/nlp/annotators/TokenizerModel.scala``
    ``tag``: every whitespace character becomes ``BREAK_CHAR`` (U+2187, ``ↇ``) through ``BREAK_PATTERN``
    ``[^(?:\\S+)ↈ]`` (a character class: Java's ``\\s``), candidates are the runs of anything else
    (``SPLIT_PATTERN`` ``[^ↇ]+``), the rule is applied to each candidate and every non-empty group
    becomes a token; a candidate the rule does not match is one token as it is ("Step 4"); tokens
    shorter than ``minLength`` or longer than ``maxLength`` are dropped.
``python/sparknlp/annotator/token/tokenizer.py`` (the ``spark-nlp`` wheel NLU drives)
    ``_setDefault(... maxLength=99999)``; pyspark hands Python defaults to the Java object on ``fit``,
    so ``Tokenizer.train`` sets ``maxLength`` 99999 on the model.

What that amounts to, and what this module does (in one linear pass, no backtracking regex):

1. Candidates are maximal runs of characters other than Java's ``\\s`` (space, ``\\t``, ``\\n``,
   ``\\x0b``, ``\\x0c``, ``\\r``) and U+2187.  Unicode spaces (U+00A0, U+2003, U+3000, ...), U+0085,
   U+2028, U+2029 and the ASCII separators ``\\x1c``-``\\x1f`` are NOT whitespace to Java's ``\\s``:
   they stay inside tokens.  U+2187 in the input is taken for Spark NLP's own break marker: it
   separates tokens and is dropped, like whitespace.
2. A candidate made only of context chars (``...``, ``?!``, ``--``, ``'``) is one token.
3. Otherwise it splits into at most three tokens: its leading run of context chars, the core from
   the first to the last other character (context chars inside stay: ``New-York``, ``don't``,
   ``U.S.A``, ``3.14``, ``1,000``, ``www.google.com``), and its trailing run of context chars.  A run
   is ONE token (``").`` stays whole), and an empty run is no token.
4. A token longer than 99999 UTF-16 code units (Java's ``String.length``) is dropped; the other
   tokens of its candidate stay.  This is the only way a non-whitespace character goes uncovered.

Why the regex reduces to 3.: ``[^C]`` must match the character right after the leading context
chars, and ``([C]*)\\z`` must take everything after the infix's last character, which is not a
context char; so the groups are fixed whatever the backtracking order.  Java's ``.`` stops at line
terminators, but a line terminator is itself ``[^C]``, so every candidate with a non-context char
matches.

Not reproduced: offsets are Python string indices (code points), where Spark NLP counts UTF-16
code units (characters outside the BMP count 2 there), and end is exclusive here (inclusive in
Spark NLP).  They index the text passed in; NLU's ``shrink`` cleanup (``trim`` then ``\\s+`` → one
space) shifts Spark NLP's offsets to the cleaned document, without changing any token's text (except
that Java's ``trim`` also drops control characters up to U+0020 at the ends of the document).
Sentence splitting is not done here: call this per sentence to mimic a sentence-level pipeline.
"""

from __future__ import annotations

import re

__all__ = ["spark_nlp_spans"]

# Tokenizer.scala, setDefault: contextChars.
_CONTEXT_CHARS = ".,;:!?*-()\"'"
# TokenizerModel.scala: BREAK_PATTERN is Java's \s (ASCII only without UNICODE_CHARACTER_CLASS);
# BREAK_CHAR (U+2187) also ends a candidate, since SPLIT_PATTERN is [^BREAK_CHAR]+.
_CANDIDATE = re.compile("[^ \t\n\x0b\x0c\r\u2187]+")
# sparknlp/annotator/token/tokenizer.py, _setDefault: maxLength (minLength 0 drops nothing).
_MAX_LENGTH = 99_999


def _within_max_length(text: str, begin: int, end: int) -> bool:
    """Is ``text[begin:end]`` at most ``maxLength`` long, counted as Java does (UTF-16 code units)?"""
    if 2 * (end - begin) <= _MAX_LENGTH:  # even all beyond the BMP it fits: no need to count
        return True
    return end - begin + sum(1 for char in text[begin:end] if ord(char) > 0xFFFF) <= _MAX_LENGTH


def _candidate_spans(candidate: str, start: int) -> list[tuple[int, int]]:
    """Spans of one whitespace-free candidate at ``start``: prefix, core and suffix, as the rule groups."""
    end = start + len(candidate)
    if not candidate.strip(_CONTEXT_CHARS):  # the rule needs one non-context char: "Step 4", kept whole
        return [(start, end)]
    core_start = end - len(candidate.lstrip(_CONTEXT_CHARS))
    core_end = start + len(candidate.rstrip(_CONTEXT_CHARS))
    groups = ((start, core_start), (core_start, core_end), (core_end, end))
    return [(begin, stop) for begin, stop in groups if begin < stop]


def spark_nlp_spans(text: str) -> list[tuple[int, int]]:
    """Token spans (begin, end) with end EXCLUSIVE (text[begin:end] is the token), in order, non-overlapping."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    spans: list[tuple[int, int]] = []
    for match in _CANDIDATE.finditer(text):
        spans.extend(_candidate_spans(match.group(), match.start()))
    # TokenizerModel.tag's final filter: non-empty (always, here) and within [minLength, maxLength]
    return [(begin, end) for begin, end in spans if _within_max_length(text, begin, end)]
