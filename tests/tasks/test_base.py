"""The task seam: every registry task value has one task, a task names the head its models load
with, and that head is what the loader builds."""

from __future__ import annotations

import pytest

from nlu_lite.errors import InvalidOptionError, ModelLoadError
from nlu_lite.hub.loading import HEADS, load_components
from nlu_lite.options import OUTPUT_LEVELS
from nlu_lite.options import TASKS as REGISTRY_TASKS
from nlu_lite.tasks.base import EMBEDDINGS, TASKS, task_for


def test_tasks_every_registry_task_has_one_task():
    assert set(TASKS) == set(REGISTRY_TASKS)
    for kind, task in TASKS.items():
        assert kind in task.kinds
        assert task.head in HEADS
        assert set(task.levels) <= set(OUTPUT_LEVELS)


def test_tasks_embeddings_is_the_first_task():
    assert TASKS["embed"] is TASKS["embed_sentence"] is EMBEDDINGS
    assert EMBEDDINGS.head == "AutoModel"
    assert EMBEDDINGS.levels == ("token", "sub_token", "sentence", "document")  # no chunks of vectors
    assert task_for(["embed", "embed_sentence"]) is EMBEDDINGS


def test_tasks_a_pipeline_holds_one_task(monkeypatch):
    """Models of two tasks in one pipeline are refused with a typed error, before anything loads."""

    class Other:
        name = "other"
        kinds = ("other",)

    monkeypatch.setitem(TASKS, "other", Other())
    with pytest.raises(InvalidOptionError, match="one task"):
        task_for(["embed", "other"])


def test_tasks_the_loader_builds_the_head_a_task_names(tmp_path):
    """The head is the task's to choose: one folder with a trained classification head loads as a
    bare encoder (the embedding task's AutoModel) or whole, by the Auto class the task names; a
    head the files do not hold is refused (its weights would be random)."""
    import torch
    from conftest import minilm_dir
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from nlu_lite.factory import path_entry

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64, num_labels=3
    )
    BertForSequenceClassification(config).save_pretrained(tmp_path / "clf")
    AutoTokenizer.from_pretrained(minilm_dir()).save_pretrained(tmp_path / "clf")
    entry = path_entry(tmp_path / "clf")
    assert type(load_components(entry).model).__name__ == "BertModel"
    whole = load_components(entry, head="AutoModelForSequenceClassification")
    assert type(whole.model).__name__ == "BertForSequenceClassification"
    assert whole.model.config.num_labels == 3
    with pytest.raises(ModelLoadError, match="random"):
        load_components(entry, head="AutoModelForQuestionAnswering")  # qa_outputs: not in the files


def test_tasks_an_unknown_head_is_refused(tiny):
    with pytest.raises(ModelLoadError, match="no model head"):
        load_components(tiny.encoders[0].entry, head="AutoModelForCausalLM; import os")


def test_tasks_a_level_the_task_lacks_is_refused(tiny, monkeypatch):
    monkeypatch.setattr(EMBEDDINGS, "levels", ("token",))
    with pytest.raises(InvalidOptionError, match="output_level"):
        tiny.predict("I love NLP", output_level="document")
