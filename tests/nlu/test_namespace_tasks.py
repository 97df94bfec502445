"""NLU's classify / ner / pos / sentiment namespace: every en/xx name answered (the model NLU loads,
or NoEquivalentError naming the nearest), the generated file up to date, no entry under another
repository than its John Snow Labs model card names, and the coverage aim met."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import nlu_lite
from nlu_lite.errors import NoEquivalentError
from nlu_lite.hub.registry import get_registry

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "nlu_namespace"
GENERATED = ROOT / "registry" / "nlu_namespace_tasks.yaml"

sys.path.insert(0, str(TOOLS))
import generate  # noqa: E402
import generate_tasks  # noqa: E402
import namespace_tasks_coverage as coverage  # noqa: E402

sys.path.remove(str(TOOLS))

BOOK = generate_tasks.book()["models"]
LEFT_OUT = generate_tasks.left_out()
NAMES = sorted(n for n in BOOK if n.lower() not in LEFT_OUT)
CARDS = generate._load("jsl_task_cards.json")["cards"]
RESEARCHED = generate._load("originals_tasks.json")


def test_namespace_tasks_spellbook_has_the_four_families():
    assert len(BOOK) == 1786
    assert {m["family"] for m in BOOK.values()} == {"classify", "ner", "pos", "sentiment"}
    assert {n.split(".")[0] for n in BOOK} == {"en", "xx"}
    assert "en.pos" in LEFT_OUT and "ner" in LEFT_OUT and "sentiment" in LEFT_OUT


def test_namespace_tasks_every_name_is_answered():
    registry = get_registry()
    unanswered = []
    for name in NAMES:
        task = generate_tasks.settings(BOOK[name]["annotator"], BOOK[name]["family"])
        entry = registry.find(name)
        if entry is not None:
            assert entry.nlu_model, name
            if task is not None:
                assert entry.task == task["task"], name
            continue
        try:
            nlu_lite.resolve(name)
        except NoEquivalentError as exc:
            assert "Nearest here: '" in str(exc), name
            assert any(f"'{near}'" in str(exc) for near in generate_tasks.NEAREST.values()), name
        except LookupError:
            unanswered.append(name)
    assert not unanswered, unanswered[:20]


@pytest.mark.parametrize(
    ("name", "repo"),
    [
        ("en.ner.xlmr_roberta.xtreme.base_finetuned", "cj-mills/xlm-roberta-base-finetuned-panx-en"),
        # one JSL name, two models: Spark NLP's xx card names another repository than its en card
        ("xx.ner.xlmr_roberta.base_finetuned.by_cj_mills", "cj-mills/xlm-roberta-base-finetuned-panx-de-fr"),
        ("en.pos.roberta_base_english_upos", "KoichiYasuoka/roberta-base-english-upos"),
        ("en.classify.bert.amazon.uncased_base", "fabriceyhc/bert-base-uncased-amazon_polarity"),
    ],
)
def test_namespace_tasks_resolves_to_the_cards_original(name, repo):
    entry = nlu_lite.resolve(name)
    assert generate.same_repository(repo, entry.source.hf)


@pytest.mark.parametrize(
    ("name", "nearest"),
    [
        ("en.ner.dl", generate_tasks.NEAREST_NER),  # NerDLModel
        ("en.pos.ud_ewt", generate_tasks.NEAREST_POS),  # PerceptronModel
        ("en.sentiment.vivekn", generate_tasks.NEAREST_SENTIMENT),  # ViveknSentimentModel
        ("en.classify.ag_news.xlnet", generate_tasks.NEAREST_CLASSIFY),  # John Snow Labs trained it
    ],
)
def test_namespace_tasks_no_equivalent_names_the_nearest(name, nearest):
    with pytest.raises(NoEquivalentError, match=f"Nearest here: .*'{nearest}'"):
        nlu_lite.resolve(name)


def test_namespace_tasks_generated_file_is_up_to_date():
    for tool in ("generate_tasks.py", "generate.py"):
        out = subprocess.run(
            [sys.executable, str(TOOLS / tool), "--check"], capture_output=True, text=True, cwd=ROOT, timeout=120
        )
        assert out.returncode == 0, out.stderr


def test_namespace_tasks_entries_name_their_cards_repository():
    doc = yaml.safe_load(GENERATED.read_text(encoding="utf-8"))
    assert doc["models"]
    wrong = []
    for raw in doc["models"]:
        lang = raw.get("language", doc["defaults"]["language"])
        found = generate_tasks.original(f"{raw['nlu_model']}@{lang}", CARDS, RESEARCHED)
        if found is None or not generate.same_repository(found["hf_repo"], raw["source"]["hf"]):
            wrong.append(raw["spelling"])
        assert raw["spelling"].split(".")[1] in ("classify", "sentiment", "ner", "pos")
        expected = "sentence" if raw["task"] in ("classify", "sentiment") else "token"
        assert raw["output_level"] == expected, raw["spelling"]
        assert "revision" not in raw["source"] or raw["source"].get("verified"), raw["spelling"]
    assert not wrong, wrong[:20]
    # no name of NLU's aliases: those are answered by hand-written stand-ins
    names = {n.lower() for raw in doc["models"] for n in (raw["spelling"], *raw.get("aliases", []))}
    names |= {n.lower() for n in (*doc["nlu_names"], *doc["no_equivalent"])}
    assert not names & LEFT_OUT


def test_namespace_tasks_coverage_meets_the_aim():
    result = coverage.classify(BOOK)
    report = coverage.report(result, BOOK, LEFT_OUT)
    assert coverage.meets_targets(result, BOOK, LEFT_OUT), report
    registry_doc = (Path(__file__).resolve().parents[2] / "docs" / "registry.md").read_text()
    assert report in registry_doc, "docs/registry.md quotes an old coverage report; paste the new one"
