"""Every error a user of nlu_lite can see, in one place.

All of them derive from :class:`NluLiteError`, so ``except nlu_lite.NluLiteError`` catches
everything the library raises on purpose.  Each also derives from the built-in exception a
Python user would expect (``LookupError`` for an unknown name, ``ValueError`` for a bad option,
``TypeError`` for a value of the wrong kind), so generic handlers keep working.  Messages say
what went wrong *and* what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence


class NluLiteError(Exception):
    """Base class of every error raised on purpose by nlu_lite."""


class UnknownSpellingError(NluLiteError, LookupError):
    """A model spelling that the registry does not know."""

    def __init__(self, spelling: str, suggestions: Sequence[str] = (), hint: str | None = None) -> None:
        self.spelling = spelling
        self.suggestions = list(suggestions)
        lines = [f"Unknown model spelling {spelling!r}."]
        if hint:
            lines.append(hint)
        if self.suggestions:
            lines.append("Did you mean: " + ", ".join(repr(s) for s in self.suggestions) + "?")
        lines.append("List the catalogue with nlu_lite.models() (wildcards work: nlu_lite.models('*bert*')).")
        super().__init__(" ".join(lines))

    def __str__(self) -> str:  # LookupError would otherwise repr() the message
        return str(self.args[0])


class NoEquivalentError(UnknownSpellingError):
    """An NLU spelling whose model has no transformers equivalent (GloVe, USE, ELMo…)."""

    def __init__(self, spelling: str, explanation: str) -> None:
        self.spelling = spelling
        self.suggestions = [m for m in _quoted(explanation)]
        Exception.__init__(self, f"{spelling!r} has no transformers equivalent in nlu_lite. {explanation}")


def _quoted(text: str) -> list[str]:
    import re

    # catalogue spellings (lang.task.…) quoted in the explanation, not other quoted words
    return re.findall(r"'([a-z]{2,3}\.[a-z_]+\.[^' ]+)'", text)


class UncoveredTaskError(UnknownSpellingError):
    """An NLU name of a model family nlu_lite does not cover yet (question answering, translation,
    lemmatization, …): it says so, rather than suggesting an unrelated model."""

    def __init__(self, spelling: str, explanation: str) -> None:
        self.spelling = spelling
        self.explanation = explanation
        self.suggestions: list[str] = []
        Exception.__init__(self, f"{spelling!r}: {explanation}.")


class RegistryError(NluLiteError, ValueError):
    """A registry YAML file that cannot be read or does not follow the schema."""

    def __init__(self, file: object, key: str | None, problem: str) -> None:
        self.file = str(file)
        self.key = key
        where = f"{self.file}" + (f", key {key!r}" if key else "")
        super().__init__(f"Invalid model registry {where}: {problem}")


class LockFileError(RegistryError):
    """A lock file (``nlu-lite.lock``) that cannot be read or does not follow its format."""

    def __init__(self, file: object, key: str | None, problem: str) -> None:
        super().__init__(file, key, problem)
        where = f"{self.file}" + (f", key {key!r}" if key else "")
        self.args = (f"Invalid lock file {where}: {problem}",)


class ModelUnavailableError(NluLiteError, OSError):
    """The files of a model are neither on disk nor downloadable right now."""


class ModelLoadError(NluLiteError, RuntimeError):
    """Model files were found but are broken or disagree with the registry."""


class NotInNluLiteError(NluLiteError, AttributeError):
    """An NLU function or pipe attribute nlu_lite has no counterpart for; the message says what to
    use instead.  An AttributeError, so ``hasattr`` stays False."""

    def __init__(self, name: str, instead: str) -> None:
        self.name = name
        super().__init__(f"NLU's {name} has no counterpart in nlu_lite: {instead}")


class InvalidInputError(NluLiteError, TypeError):
    """predict() was given data it cannot read as text."""


class InvalidOptionError(NluLiteError, ValueError):
    """An option (output level, pooling, layer, device…) outside its allowed values."""

    def __init__(self, name: str, value: object, allowed: Sequence[object] | str) -> None:
        self.name = name
        self.value = value
        allowed_text = allowed if isinstance(allowed, str) else ", ".join(repr(a) for a in allowed)
        super().__init__(f"Invalid {name}={value!r}; expected {allowed_text}.")
