"""nlu_lite.nlu.spark_tokenizer: Spark NLP's default Tokenizer (as NLU 5.4.1 runs it), spans with exact offsets.

Expected tokens come from Spark NLP's own specs (src/test/scala/com/johnsnowlabs/nlp/annotators/
TokenizerTestSpec.scala, the Tokenizer docstrings in Tokenizer.scala and the Python wheel), from
NLU's documentation tables, and from the rules of Tokenizer.scala / TokenizerModel.scala for the
rest.  A literal port of the Scala rule (with Python's backtracking ``re``) is the oracle for the
random strings.
"""

from __future__ import annotations

import random
import re

import pytest

from nlu_lite.nlu.spark_tokenizer import spark_nlp_spans

# Java's \s (BREAK_PATTERN) and Spark NLP's BREAK_CHAR, which the input cannot use as a character.
JAVA_WS = " \t\n\x0b\x0c\r"
BREAK_CHAR = "\u2187"
SEPARATORS = frozenset(JAVA_WS + BREAK_CHAR)
CONTEXT = ".,;:!?*-()\"'"
MAX_LENGTH = 99_999


def tokens(text: str) -> list[str]:
    return [text[b:e] for b, e in spark_nlp_spans(text)]


# --- the oracle: TokenizerModel.tag with Tokenizer.buildRuleFactory's default rule, ported literally ---

_CTX_CLASS = re.escape(CONTEXT)
_JAVA_DOT = "[^\n\r\u0085\u2028\u2029]"  # Java's '.' without DOTALL
_RULE = re.compile(rf"\A([{_CTX_CLASS}]*)([^{_CTX_CLASS}](?:{_JAVA_DOT}*[^{_CTX_CLASS}])*)([{_CTX_CLASS}]*)\Z")


def _java_length(token: str) -> int:
    return len(token.encode("utf-16-le", "surrogatepass")) // 2


def reference_spans(text: str) -> list[tuple[int, int]]:
    protected = re.sub(f"[{JAVA_WS}]", BREAK_CHAR, text)
    spans: list[tuple[int, int]] = []
    for candidate in re.finditer(f"[^{BREAK_CHAR}]+", protected):
        found = _RULE.search(candidate.group())
        if found is None:
            spans.append((candidate.start(), candidate.end()))
            continue
        position = candidate.start()
        for group in found.groups():
            spans.append((position, position + len(group)))
            position += len(group)
    return [(b, e) for b, e in spans if e > b and _java_length(text[b:e]) <= MAX_LENGTH]


# --- Spark NLP's own test data ---

SPEC_TEXT_1 = (
    "Hello, I won't be from New York in the U.S.A. (and you know it héroe). Give me my horse! or $100"
    " bucks 'He said', I'll defeat markus-crassus. You understand. Goodbye George E. Bush. www.google.com."
)
# TokenizerTestSpec's expected1 ran with the exception "New York"; on defaults "New" and "York" part.
SPEC_EXPECTED_1 = [
    "Hello", ",", "I", "won't", "be", "from", "New", "York", "in", "the", "U.S.A", ".", "(", "and", "you",
    "know", "it", "héroe", ").", "Give", "me", "my", "horse", "!", "or", "$100", "bucks", "'", "He", "said",
    "',", "I'll", "defeat", "markus-crassus", ".", "You", "understand", ".", "Goodbye", "George", "E", ".",
    "Bush", ".", "www.google.com", ".",
]  # fmt: skip

SPEC_TEXT_2 = "I'd like to say we didn't expect that. Jane's boyfriend."
# TokenizerTestSpec expected2: (begin, end INCLUSIVE, token), as Spark NLP's Annotation has them.
SPEC_EXPECTED_2 = [
    (0, 2, "I'd"), (4, 7, "like"), (9, 10, "to"), (12, 14, "say"), (16, 17, "we"), (19, 24, "didn't"),
    (26, 31, "expect"), (33, 36, "that"), (37, 37, "."), (39, 44, "Jane's"), (46, 54, "boyfriend"), (55, 55, "."),
]  # fmt: skip

# TokenizerTestSpec targetText3 with ls = "\n" (lsl = 1); "\\n" is a backslash and an n, not a break.
SPEC_TEXT_3 = "I'd      like to say\nwe didn't\n\n expect\nthat. \n\n Jane's\\nboyfriend\tsaid.\n\n"
SPEC_EXPECTED_3 = [
    (0, 2, "I'd"), (9, 12, "like"), (14, 15, "to"), (17, 19, "say"), (21, 22, "we"), (24, 29, "didn't"),
    (33, 38, "expect"), (40, 43, "that"), (44, 44, "."), (49, 65, "Jane's\\nboyfriend"), (67, 70, "said"),
    (71, 71, "."),
]  # fmt: skip


def test_spark_spec_default_sentence_with_offsets():
    expected = [(b, e + 1) for b, e, _ in SPEC_EXPECTED_2]
    assert spark_nlp_spans(SPEC_TEXT_2) == expected
    assert tokens(SPEC_TEXT_2) == [t for _, _, t in SPEC_EXPECTED_2]


def test_spark_spec_breaking_characters_with_offsets():
    expected = [(b, e + 1) for b, e, _ in SPEC_EXPECTED_3]
    assert spark_nlp_spans(SPEC_TEXT_3) == expected
    assert tokens(SPEC_TEXT_3) == [t for _, _, t in SPEC_EXPECTED_3]


def test_spark_spec_composite_text_on_defaults():
    assert tokens(SPEC_TEXT_1) == SPEC_EXPECTED_1


def test_spark_spec_shrunk_text_gives_the_same_tokens():
    # NLU's DocumentAssembler uses cleanupMode "shrink" (trim, then \s+ -> " "): offsets move, tokens do not.
    shrunk = re.sub(f"[{JAVA_WS}]+", " ", SPEC_TEXT_3.strip(JAVA_WS))
    assert tokens(shrunk) == tokens(SPEC_TEXT_3)
    # TokenizerTestSpec expected4: the same tokens, at these offsets of the shrunk document
    assert spark_nlp_spans(shrunk)[:3] == [(0, 3), (4, 8), (9, 11)]
    assert spark_nlp_spans(shrunk)[-3:] == [(39, 56), (57, 61), (61, 62)]


CASES: list[tuple[str, list[str]]] = [
    # Spark NLP specs and docstrings
    ("Hello New York and Goodbye", ["Hello", "New", "York", "and", "Goodbye"]),
    ("Are you kidding me ?!?! what is this for !?",
     ["Are", "you", "kidding", "me", "?!?!", "what", "is", "this", "for", "!?"]),
    ("Hello big-city-of-lights welcome to the ground###earth.",
     ["Hello", "big-city-of-lights", "welcome", "to", "the", "ground###earth", "."]),
    ("One, after the\n\nOther, (and) again.\nPO, QAM,",
     ["One", ",", "after", "the", "Other", ",", "(", "and", ")", "again", ".", "PO", ",", "QAM", ","]),
    ("l'une d'un l'un, des l'extrême des l'extreme",
     ["l'une", "d'un", "l'un", ",", "des", "l'extrême", "des", "l'extreme"]),
    ("this is some/text I wrote", ["this", "is", "some/text", "I", "wrote"]),
    ("My friend moved to New York. She likes it. Frank visited New York, and didn't like it.",
     ["My", "friend", "moved", "to", "New", "York", ".", "She", "likes", "it", ".", "Frank", "visited", "New",
      "York", ",", "and", "didn't", "like", "it", "."]),
    # NLU documentation examples (token tables of docs/en/examples)
    ("Each word and symbol in a sentence will generate token.",
     ["Each", "word", "and", "symbol", "in", "a", "sentence", "will", "generate", "token", "."]),
    ("NLU can get you the stem of a word", ["NLU", "can", "get", "you", "the", "stem", "of", "a", "word"]),
    ("Part of speech assigns each token in a sentence a grammatical label",
     ["Part", "of", "speech", "assigns", "each", "token", "in", "a", "sentence", "a", "grammatical", "label"]),
    ("Lemmatizing generates a less noisy version of the inputted tokens",
     ["Lemmatizing", "generates", "a", "less", "noisy", "version", "of", "the", "inputted", "tokens"]),
    ("@CKL_IT says that #normalizers are pretty useful to clean #structured_strings in #NLU like tweets",
     ["@CKL_IT", "says", "that", "#normalizers", "are", "pretty", "useful", "to", "clean", "#structured_strings",
      "in", "#NLU", "like", "tweets"]),
    ("Donald Trump had a meeting with Tim Apple in new York !",
     ["Donald", "Trump", "had", "a", "meeting", "with", "Tim", "Apple", "in", "new", "York", "!"]),
    ("Glove embeddings are generated by aggregating global word-word co-occurrence matrix from a corpus",
     ["Glove", "embeddings", "are", "generated", "by", "aggregating", "global", "word-word", "co-occurrence",
      "matrix", "from", "a", "corpus"]),
    ("Get all of them at once! Watch your RAM tough!",
     ["Get", "all", "of", "them", "at", "once", "!", "Watch", "your", "RAM", "tough", "!"]),
    ("What a wonderful day!", ["What", "a", "wonderful", "day", "!"]),
    ("I love NLP", ["I", "love", "NLP"]),
    # hyphens and apostrophes inside a word stay: no infix rule splits "n't" by default
    ("New-York", ["New-York"]),
    ("I don't know, they won't.", ["I", "don't", "know", ",", "they", "won't", "."]),
    ("rock'n'roll isn't dead", ["rock'n'roll", "isn't", "dead"]),
    ("'tis the dogs' bone", ["'", "tis", "the", "dogs", "'", "bone"]),
    ("-a- --b-- x-", ["-", "a", "-", "--", "b", "--", "x", "-"]),
    # context chars peel off the ends, one token per run
    ('"Hello," she said.', ['"', "Hello", ',"', "she", "said", "."]),
    ("((nested)) (a) [b] {c} <d>", ["((", "nested", "))", "(", "a", ")", "[b]", "{c}", "<d>"]),
    ("*bold* _it_ ~s~", ["*", "bold", "*", "_it_", "~s~"]),
    ("U.S.A. e.g., i.e.: etc.)", ["U.S.A", ".", "e.g", ".,", "i.e", ".:", "etc", ".)"]),
    # runs made only of context chars are one token
    ("Wait... what?! ... -- ' \" ?!?", ["Wait", "...", "what", "?!", "...", "--", "'", '"', "?!?"]),
    ("Hmm.... (...) .a.", ["Hmm", "....", "(...)", ".", "a", "."]),
    # numbers
    ("3.14 and 1,000 and 1,000,000.50 or 2.5% of $1,000.00.",
     ["3.14", "and", "1,000", "and", "1,000,000.50", "or", "2.5%", "of", "$1,000.00", "."]),
    ("-5 +5 (42) 10:30 1/2 #1 3-4", ["-", "5", "+5", "(", "42", ")", "10:30", "1/2", "#1", "3-4"]),
    # URLs and e-mails
    ("Visit https://www.example.com/path?q=1&r=2. Now!",
     ["Visit", "https://www.example.com/path?q=1&r=2", ".", "Now", "!"]),
    ("(see http://x.org/a_(b))", ["(", "see", "http://x.org/a_(b", "))"]),
    ("Mail john.doe@example.com, or <jane@x.io>!", ["Mail", "john.doe@example.com", ",", "or", "<jane@x.io>", "!"]),
    ("www.google.com. ftp://a.b/c.d?", ["www.google.com", ".", "ftp://a.b/c.d", "?"]),
    # whitespace of every Java \s kind, repeated
    ("  a\t\tb\n\nc \r\n d\x0b e\x0c f  ", ["a", "b", "c", "d", "e", "f"]),
    # unicode
    ("Café naïve — résumé 東京は晴れ。 😀!", ["Café", "naïve", "—", "résumé", "東京は晴れ。", "😀", "!"]),
    ("¿Qué? ¡Hola! «guillemets» “curly”", ["¿Qué", "?", "¡Hola", "!", "«guillemets»", "“curly”"]),
    ("Ünïcödé's (ß).", ["Ünïcödé's", "(", "ß", ")."]),
    ("e\u0301 a\u0308.", ["e\u0301", "a\u0308", "."]),
    # only Java's \s separates: Unicode spaces and line separators stay inside tokens
    ("a\u00a0b c\u2003d e\u3000f", ["a\u00a0b", "c\u2003d", "e\u3000f"]),
    ("a\u2028b c\u0085d e\u2029f g\x1ch", ["a\u2028b", "c\u0085d", "e\u2029f", "g\x1ch"]),
    ("\u00a0", ["\u00a0"]),
    (".\u2028.", [".", "\u2028", "."]),  # U+2028 is not Java's \s but is a non-context char
    # Spark NLP's BREAK_CHAR (U+2187) in the input splits and is dropped; PROTECT_CHAR (U+2188) is a letter
    ("a\u2187b \u2187 c\u2188d", ["a", "b", "c\u2188d"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[repr(t[:40]) for t, _ in CASES])
def test_documented_and_rule_cases(text: str, expected: list[str]):
    assert tokens(text) == expected
    assert spark_nlp_spans(text) == reference_spans(text)


@pytest.mark.parametrize(
    "text", ["", " ", "   ", "\t\n\r\x0b\x0c ", " \n\n\t ", BREAK_CHAR, f" {BREAK_CHAR}\n{BREAK_CHAR} "]
)
def test_empty_and_java_whitespace_only(text: str):
    assert spark_nlp_spans(text) == []


def test_offsets_are_python_indices_of_the_text_given():
    text = "😀 hi 😀😀."
    assert spark_nlp_spans(text) == [(0, 1), (2, 4), (5, 7), (7, 8)]
    # Spark NLP counts UTF-16 units: it would report (0,1), (3,4), (6,9), (10,10) inclusive


def test_non_string_is_refused():
    with pytest.raises(TypeError):
        spark_nlp_spans(b"bytes")  # type: ignore[arg-type]


# --- maxLength 99999 (the Python wrapper's default, handed to the Java model): the only dropped characters ---


def test_max_length_keeps_99999_and_drops_longer_tokens():
    assert tokens("x" * MAX_LENGTH) == ["x" * MAX_LENGTH]
    assert spark_nlp_spans("x" * (MAX_LENGTH + 1)) == []
    assert tokens("(" + "x" * (MAX_LENGTH + 1) + ").") == ["(", ")."]
    assert tokens("." * (MAX_LENGTH + 1) + " ok") == ["ok"]  # an all-context candidate is one token too


def test_max_length_counts_utf16_units_like_java():
    assert spark_nlp_spans("😀" * 50_000) == []  # 50 000 code points, 100 000 UTF-16 units
    kept = "😀" * 49_999 + "x"  # 99 999 units
    assert tokens(kept) == [kept]


def test_max_length_drop_is_per_token():
    text = "a-" * 60_000  # one candidate: core "a-a-...a" (119 999) is dropped, the trailing "-" stays
    assert spark_nlp_spans(text) == [(len(text) - 1, len(text))]


# --- properties over random and hostile strings ---

ALPHABET = (
    list("abcXYZ019")
    + list(CONTEXT) * 3
    + list("@#/$%&[]{}<>_~`+=|\\^")
    + list(JAVA_WS) * 2
    + ["\u00a0", "\u2003", "\u3000", "\u0085", "\u2028", "\u2029", "\x1c", "\x00", BREAK_CHAR, "\u2188"]
    + ["é", "ß", "東", "😀", "\u0301", "\ud800", "\U0001f3fb", "“", "”", "«", "—"]
)


def _check_structure(text: str, spans: list[tuple[int, int]]) -> None:
    previous_end = 0
    for begin, end in spans:
        assert previous_end <= begin < end <= len(text)
        assert not SEPARATORS.intersection(text[begin:end])
        previous_end = end


def _check_coverage(text: str, spans: list[tuple[int, int]]) -> None:
    covered = [0] * len(text)
    for begin, end in spans:
        for i in range(begin, end):
            covered[i] += 1
    for i, char in enumerate(text):
        assert covered[i] == (0 if char in SEPARATORS else 1), (text, i, char)


@pytest.mark.parametrize("seed", range(8))
def test_random_strings_properties_and_oracle(seed: int):
    rng = random.Random(seed)
    for _ in range(400):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
        spans = spark_nlp_spans(text)
        _check_structure(text, spans)
        _check_coverage(text, spans)
        assert spans == reference_spans(text), repr(text)


@pytest.mark.parametrize("seed", range(4))
def test_random_word_like_strings_match_the_oracle(seed: int):
    rng = random.Random(1000 + seed)
    words = ["New-York", "don't", "3.14", "1,000", "(a)", '"q"', "...", "e.g.", "http://a.b/c?d", "x@y.z", "--", "'"]
    for _ in range(300):
        parts = [rng.choice([*words, rng.choice(CONTEXT)]) for _ in range(rng.randint(0, 12))]
        glue = [rng.choice([" ", "", "\n", "\t", "  "]) for _ in parts]
        text = "".join(p + g for p, g in zip(parts, glue, strict=True))
        spans = spark_nlp_spans(text)
        _check_structure(text, spans)
        _check_coverage(text, spans)
        assert spans == reference_spans(text), repr(text)


def test_long_hostile_input_completes_with_exact_tokens():
    url = "http://example.com/a?b=c&d=(e)."
    blocks = [
        ("a-" * 25_000, ["a-" * 24_999 + "a", "-"]),
        ("'''''" * 5_000, ["'" * 25_000]),
        ("...." * 6_250, ["." * 25_000]),
        (url * 800, [(url * 800)[:-2], ")."]),
        ("(" * 20_000 + "x" + ")" * 20_000, ["(" * 20_000, "x", ")" * 20_000]),
        ("a-" * 60_000, ["-"]),  # core over maxLength: dropped
        ("\u2028." * 10_000, ["\u2028." * 9_999 + "\u2028", "."]),
        (" ".join(["'"] * 20_000), ["'"] * 20_000),
        (" ".join(["a-"] * 20_000), ["a", "-"] * 20_000),
    ]
    text = " ".join(block for block, _ in blocks)
    assert len(text) > 200_000
    expected = [token for _, block_tokens in blocks for token in block_tokens]
    spans = spark_nlp_spans(text)
    _check_structure(text, spans)
    assert [text[b:e] for b, e in spans] == expected


def test_long_random_hostile_input_structure():
    rng = random.Random(7)
    pieces = ["a-", "'''''", "....", "http://x.io/a?b=(c)", "\u2028", " ", "\t", "(", ")", "😀", "\u00a0"]
    text = "".join(rng.choice(pieces) for _ in range(60_000))
    spans = spark_nlp_spans(text)
    _check_structure(text, spans)
    # no token here reaches maxLength (any run without Java whitespace is far shorter), so coverage is exact
    assert sum(e - b for b, e in spans) == sum(1 for char in text if char not in SEPARATORS)
