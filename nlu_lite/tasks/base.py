"""The task seam: what a task is, and the table that finds the task of a registry entry.

A task is what a model is used for (embeddings today; text classification, token
classification, question answering and generation are the same shape).  It says

- which head its models load (``head``: a transformers Auto class name, read by
  :func:`nlu_lite.hub.loading.load_components`), and which registry ``task`` values it serves;
- which output levels it has (``levels``);
- what it needs from the forward (it asks each model's :class:`~nlu_lite.engine.encoder.Encoder`
  with a :class:`~nlu_lite.engine.encoder.Need`: states of some layers at kept positions, one
  pooled vector per unit; the runner provides it);
- how rows and columns come out of it at a level (``run``), in nlu_lite's layout and in NLU's
  (``frame``).

Adding a task: a module beside ``embeddings.py`` with a class of this shape, a row in
:data:`TASKS` for each registry ``task`` value it serves, and the value in the registry schema
(``nlu_lite.options.TASKS``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from nlu_lite.errors import InvalidOptionError
from nlu_lite.tasks.classification import TextClassification
from nlu_lite.tasks.embeddings import Embeddings
from nlu_lite.tasks.tagging import TokenClassification

if TYPE_CHECKING:
    from nlu_lite.engine.encoder import Encoder
    from nlu_lite.frames.inputs import Inputs
    from nlu_lite.frames.output import FrameParts
    from nlu_lite.options import PredictOptions
    from nlu_lite.tasks.levels import Level, Plan

# Given the number of word pieces the first model runs over, a progress bar (a callable that counts
# pieces as they are done) or None, as a context manager that closes it.
ProgressFor = Callable[[int], AbstractContextManager[Callable[[int], Any] | None]]


class Task(Protocol):
    """One task family (see the module docstring)."""

    name: str
    kinds: tuple[str, ...]  # the registry ``task`` values it serves
    head: str  # the transformers Auto class its models load with
    levels: tuple[str, ...]  # the output levels it has

    def check(self, level: str, encoders: Sequence[Encoder], options: PredictOptions) -> None:
        """Refuse, before any work, options these models cannot honour at ``level``."""

    def run(self, plan: Plan, encoders: Sequence[Encoder], compute: bool, progress: ProgressFor) -> Level:
        """The rows of ``plan``'s level (the first model's tokenization makes them) with every
        model's columns; ``compute=False``: the rows alone, no model run."""
        ...

    def frame(self, parts: FrameParts, done: Level, context: FrameContext) -> Any:
        """The result DataFrame in the convention of ``context.options``."""


class FrameContext(Protocol):
    """What a task's ``frame`` may ask of the pipeline: its models, NLU's name for the request,
    the inputs, and the level run again (NLU's layout shows token vectors at document level)."""

    @property
    def encoders(self) -> Sequence[Encoder]: ...
    @property
    def nlu_ref(self) -> str: ...
    @property
    def inputs(self) -> Inputs: ...
    @property
    def options(self) -> PredictOptions: ...

    def run_level(self, level: str, options: PredictOptions) -> Level: ...


EMBEDDINGS = Embeddings()
TEXT_CLASSIFICATION = TextClassification()
TOKEN_CLASSIFICATION = TokenClassification()

# registry task value -> the task that serves it
TASKS: dict[str, Task] = {
    kind: task for task in (EMBEDDINGS, TEXT_CLASSIFICATION, TOKEN_CLASSIFICATION) for kind in task.kinds
}


def task_for(kinds: Sequence[str]) -> Task:
    """The one task of a pipeline's models (their registry ``task`` values)."""
    found = {TASKS[kind].name: TASKS[kind] for kind in kinds}
    if len(found) != 1:
        raise InvalidOptionError(
            "request", " ".join(kinds), f"models of one task (these are {', '.join(sorted(found))}): load them apart"
        )
    return next(iter(found.values()))
