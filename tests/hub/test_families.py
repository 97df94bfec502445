"""The family table (nlu_lite.hub.families): one row per model_type, each either served by the
fused engine with a layout or refused with a reason; the position, depth and width rules read
from it; and no family named outside it in the package's engine and model code."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import nlu_lite
from nlu_lite.hub import families
from nlu_lite.hub.families import FAMILIES, Family, Layout

ROOT = Path(nlu_lite.__file__).parent


def test_every_row_is_served_with_a_layout_or_refused_with_a_reason():
    assert set(families.MODEL_MAPPING) | set(families.CAN_NOT_BE_SUPPORTED) == set(FAMILIES)
    assert not set(families.MODEL_MAPPING) & set(families.CAN_NOT_BE_SUPPORTED)
    for model_type, row in FAMILIES.items():
        assert row.model_type == model_type
        assert (row.layout is None) is (row.refused is not None)
        assert row.refused is None or row.refused.strip()


@pytest.mark.parametrize("given", [{}, {"layout": Layout(), "refused": "both"}])
def test_a_row_needs_exactly_one_of_layout_and_reason(given):
    with pytest.raises(ValueError, match="layout or the reason"):
        Family("newfamily", **given)


def test_the_table_is_read_only_and_one_row_per_model_type():
    with pytest.raises(TypeError):
        FAMILIES["newfamily"] = Family("newfamily", refused="x")  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        FAMILIES["bert"].positions_after_padding = True  # type: ignore[misc]
    with pytest.raises(ValueError, match="two rows"):
        families._table(Family("a", refused="x"), Family("a", refused="y"))


def test_the_families_served_are_the_post_norm_encoders_the_engines_knew():
    """What engine/runner.py's ENCODER_FAMILIES listed before the table held it."""
    assert set(families.MODEL_MAPPING) == {
        "bert",
        "roberta",
        "xlm-roberta",
        "camembert",
        "electra",
        "distilbert",
        "mpnet",
    }


def test_positions_after_padding_are_the_families_models_loading_listed():
    """What hub/loading.py's _POSITIONS_AFTER_PADDING listed before the table held it."""
    after = {t for t, row in FAMILIES.items() if row.positions_after_padding}
    assert after == {
        *("roberta", "xlm-roberta", "camembert", "data2vec-text", "roberta-prelayernorm", "xlm-roberta-xl"),
        *("mpnet", "ibert", "longformer", "luke", "markuplm", "lilt"),
    }


@pytest.mark.parametrize("model_type", [*FAMILIES, "gpt2", None])
def test_the_position_limit_follows_the_row(model_type):
    """66 position embeddings hold 64 pieces where positions start after padding index 1, all 66
    elsewhere (a family the table does not know included); without a pad id, index 1 is assumed."""
    config = SimpleNamespace(model_type=model_type, max_position_embeddings=66, pad_token_id=1)
    after = families.positions_after_padding(config)
    assert after is (model_type in FAMILIES and FAMILIES[model_type].positions_after_padding)
    assert families.position_limit(config) == (64 if after else 66)
    config.pad_token_id = None
    assert families.position_limit(config) == (64 if after else 66)
    config.pad_token_id = 0
    assert families.position_limit(config) == (65 if after else 66)


def test_the_model_s_own_position_table_decides_over_the_row():
    import torch

    class Embeddings(torch.nn.Module):
        def __init__(self, padding: int | None) -> None:
            super().__init__()
            self.position_embeddings = torch.nn.Embedding(66, 4, padding_idx=padding)

    class Model(torch.nn.Module):
        def __init__(self, padding: int | None) -> None:
            super().__init__()
            self.embeddings = Embeddings(padding)

    bert = SimpleNamespace(model_type="bert", max_position_embeddings=66, pad_token_id=0)
    roberta = SimpleNamespace(model_type="roberta", max_position_embeddings=66, pad_token_id=1)
    assert families.position_limit(bert, Model(3)) == 62
    assert families.position_limit(roberta, Model(None)) == 66
    assert families.position_limit(SimpleNamespace(model_type="roberta"), Model(1)) == 0  # no limit stated


def test_depth_and_width_come_from_the_row_s_config_keys():
    distilbert = SimpleNamespace(model_type="distilbert", dim=48, n_layers=3, hidden_size=999, num_hidden_layers=9)
    assert families.config_dimension(distilbert) == 48
    assert families.config_layers(distilbert) == 3
    bert = SimpleNamespace(model_type="bert", hidden_size=32, num_hidden_layers=2)
    assert (families.config_dimension(bert), families.config_layers(bert)) == (32, 2)
    unknown = SimpleNamespace(model_type="t5", d_model=64, num_layers=6, n_layer=0)
    assert (families.config_dimension(unknown), families.config_layers(unknown)) == (64, 6)
    assert families.config_dimension(SimpleNamespace(hidden_size=0, d_model=None)) is None
    assert families.config_dimension(SimpleNamespace(hidden_size=0, d_model=0)) == 0


def test_refusal_says_why_for_refused_and_unknown_families():
    assert families.refusal(SimpleNamespace(model_type="bert")) is None
    reason = families.refusal(SimpleNamespace(model_type="deberta-v2"))
    assert reason is not None and families.CAN_NOT_BE_SUPPORTED["deberta-v2"] in reason
    assert "is not a post-norm encoder it knows" in str(families.refusal(SimpleNamespace(model_type="gpt2")))
    assert "None" in str(families.refusal(SimpleNamespace()))


def test_follow_and_lookup_read_dotted_paths():
    obj = SimpleNamespace(a=SimpleNamespace(b=SimpleNamespace(c=3)))
    assert families.follow(obj, "a.b.c") == 3
    assert families.lookup(obj, "a.b.c") == 3
    assert families.lookup(obj, "a.x.c") is None
    assert families.lookup(obj, None) is None
    with pytest.raises(AttributeError):
        families.follow(obj, "a.x")


def _string_constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


@pytest.mark.parametrize("package", ["engine", "models"])
def test_no_family_is_named_outside_the_table(package):
    """Family facts live in the table: the engine and model code name no model_type themselves."""
    for path in sorted((ROOT / package).rglob("*.py")):
        if path.name == "families.py":
            continue
        named = _string_constants(path) & set(FAMILIES)
        assert not named, f"{path.relative_to(ROOT)} names {sorted(named)}: read them from nlu_lite.hub.families"


def test_the_table_imports_neither_torch_nor_transformers():
    code = "import sys, nlu_lite.hub.families; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
