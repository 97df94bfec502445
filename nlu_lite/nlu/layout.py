"""NLU 5's output conventions, on one switch (``predict(convention='nlu5')``, or for a whole
process ``NLU_LITE_CONVENTION=nlu5``).

nlu_lite's own layout (the default) follows the seed model card: a ``<spelling>_embeddings``
column per model, ``begin``/``end`` with an exclusive end, ``sentence_id`` at token level, the
index named ``origin_index``.  NLU 5.4.1 lays its output out differently; each rule below is
taken from NLU's source (its wheel, ``nlu/pipe/col_substitution/``, ``nlu/pipe/pipeline.py``,
``nlu/pipe/utils/data_conversion_utils.py``) and listed with its source in docs/migration.md:

- the vector column is ``word_embedding_<x>`` for word-embedding models and
  ``sentence_embedding_<x>`` for sentence-embedding models, where ``<x>`` is the first segment
  of the name as the user typed it after its language and ``embed``/``embed_sentence``
  (``en.embed.bert`` -> ``word_embedding_bert``); two models with the same ``<x>`` take one
  more segment each until they differ;
- positions are ``<level>_begin`` / ``<level>_end`` (and ``<vector column>_begin`` / ``_end``),
  Spark NLP's offsets with an inclusive end;
- a DataFrame input's text comes back as a ``text`` column; there is no ``sentence_id``;
- at document level a word-embedding model gives each row its token vectors as one 2-D array
  (tokens x dimension), not a pooled vector;
- the index is the input's, unnamed; columns are sorted by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# the leading segments NLU drops when it names a column (col_name_substitution_utils.py)
_CLEANABLE = frozenset(
    "ner_converter spell ner_to_chunk_converter train classify ner med_ner dl match clean sentiment embed "
    "embed_sentence embed_chunk explain pos resolve_chunk resolve".split()
)
# the language keys of NLU 5.4.1's spellbook (Spellbook.pretrained_models_references), which NLU
# drops from the front of a name; 'xlm' in xx.embed.xlm.base is not one, so it names the column
_LANGUAGES = frozenset(
    (
        "ab af als am an ar arz as ast az azb ba bar bcl be bem bg bh bn bo bpy br bs ca ce ceb ch ckb co "
        "cop cs cu cv cy da de diq dv el eml en eo es et eu fa fi fo fon fr fro frr fy ga gam gd gl gom "
        "got grc gu gv ha he hi hif hr hsb hu hy hyw id ig is it ja jv ka kab kin kn ko kr ku ky la lb lg "
        "lij lmo lo lou lt lu luo lv lwt lzh mai mg min mk ml mn mr ms mt mwl my myv mzn nah nap nb nds "
        "ne new nl nn no nso oc or orv os pa pcm pfl pl pms pnb ps pt qhe qtd qu rm ro ru rw sa sae sah "
        "sc scn sco sd sg sh si sk sl sme so sq sr st su sv sw swa ta te tg th ti tk tl tn tr tt tw ug uk "
        "unk ur uz vec vi vls vn vo wa war wo xmf xx yi yo yue zea zh zu"
    ).split()
)


def nlu_languages() -> frozenset[str]:
    """The language keys of NLU 5.4.1's spellbook (the first segment of a name, when it is one)."""
    return _LANGUAGES


def nlu_identifier(ref: str, depth: int = 1) -> str:
    """NLU's name for a model in its column names: ``en.embed_sentence.mpnet.x`` -> ``mpnet``."""
    splits = ref.split(".")
    while len(splits) > 1 and (splits[0] in _CLEANABLE or splits[0] in _LANGUAGES):
        splits.pop(0)
    return "_".join(splits[:depth])


def vector_names(refs: Sequence[str], tasks: Sequence[str]) -> list[str]:
    """The vector column of each model, made unique as NLU does (one more segment, up to 10)."""
    depth = [1] * len(refs)
    for _ in range(10):
        names = [_name(r, t, d) for r, t, d in zip(refs, tasks, depth, strict=True)]
        clashes = {n for n in names if names.count(n) > 1}
        if not clashes:
            return names
        depth = [d + 1 if n in clashes else d for n, d in zip(names, depth, strict=True)]
    return [f"{n}_{i}" if names.count(n) > 1 else n for i, n in enumerate(names)]


def _name(ref: str, task: str, depth: int) -> str:
    kind = "sentence_embedding_" if task == "embed_sentence" else "word_embedding_"
    ident = nlu_identifier(ref, depth)
    return ident if ident.startswith(kind) else kind + ident


def nlu5_parts(
    level: str,
    vectors: dict[str, Any],
    extra: dict[str, np.ndarray],
    names: dict[str, str],
    spans: tuple[np.ndarray, np.ndarray] | None,
    row_text: np.ndarray | None,
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The columns of one result in NLU 5's layout (before the frame is built): vectors renamed,
    positions as ``<level>_begin``/``_end`` with an inclusive end, ``text`` for DataFrame input."""
    renamed = {names[col]: value for col, value in vectors.items()}
    out = {k: v for k, v in extra.items() if k != "sentence_id"}
    if spans is not None:
        begin, end = spans
        last = np.maximum(end - 1, begin)  # Spark NLP's end is the last character's offset
        out[f"{level}_begin"], out[f"{level}_end"] = begin, last
        for name in names.values():  # every model's, also a word model's unpooled document vectors
            out[f"{name}_begin"], out[f"{name}_end"] = begin, last
    if row_text is not None:
        out["text"] = row_text
    return renamed, out


def nlu5_frame(frame: Any, vector_cols: list[str]) -> Any:
    """The frame as NLU returns it: the index unnamed (unless it is the user's own name), columns
    sorted by name, the vector columns recorded for later steps (files, Spark)."""
    if frame.index.nlevels == 1 and frame.index.name == "origin_index":
        frame.index.name = None
    frame = frame[sorted(frame.columns, key=str)]
    frame.attrs["convention"] = "nlu5"
    frame.attrs["vector_columns"] = list(vector_cols)
    return frame


def token_matrices(
    row_input: np.ndarray, has_text: np.ndarray, block: np.ndarray, has: np.ndarray, n: int
) -> list[np.ndarray]:
    """NLU's document level for a word-embedding model: each input's token vectors as one 2-D
    float32 array (a token without a vector is a row of NaN, as NLU pads them); an input with no
    token gives a (0, dim) array."""
    vecs = np.where(has[:, None], block, np.float32(np.nan)).astype(np.float32, copy=False)
    counts = np.bincount(row_input[has_text], minlength=n)
    return np.split(vecs[has_text], np.cumsum(counts)[:-1])


def object_cells(values: list[np.ndarray]) -> np.ndarray:
    """A 1-D object array holding one array per row (never broadcast into a 2-D block)."""
    cells = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        cells[i] = value
    return cells


_CATALOGUE = "nlu_lite.models('*pattern*') and nlu_lite.print_components(lang=..., action=...) list the catalogue"
_NO_SPARK = "nlu_lite runs transformers directly, with no Spark NLP pipeline (its models: pipe.encoders)"
_OPTIONS = "nlu_lite's models have no Spark NLP parameters; options go to predict() (pipe.print_info() lists them)"
# NLU 5.4.1's module functions (nlu/__init__.py) that nlu_lite has no counterpart for, and what to use instead
NLU_ONLY_FUNCTIONS: dict[str, str] = {
    "enable_verbose": "nlu_lite.load(..., verbose=True) logs what is assembled",
    "disable_verbose": "logging.getLogger('nlu_lite').setLevel(logging.WARNING)",
    "print_all_nlu_components_for_lang": _CATALOGUE,
    "print_component_types": _CATALOGUE,
    "print_trainable_components": "nothing is trainable in nlu_lite; " + _CATALOGUE,
    "print_all_model_kinds_for_action_and_lang": _CATALOGUE,
    "Spellbook": _CATALOGUE,
    "autocomplete_pipeline": "nlu_lite.load('<spelling>') builds the pipeline",
    "to_pretty_df": "pipe.predict(...) already returns the pretty pandas DataFrame",
    "to_nlu_pipe": "nlu_lite.load('<spelling>') or nlu_lite.load(path='<folder>')",
    "load_nlu_pipe_from_hdd": "nlu_lite.load(path='<folder>') loads a folder written by pipe.save()",
    "enable_streamlit_caching": "wrap nlu_lite.load in st.cache_resource",
    "viz": "nlu_lite.plot draws embeddings (plot_embeddings, plot_similarity, nearest); pipe.viz(text) "
    "highlights a NER tagger's entities",
    "auth": "no licensed models here: there is nothing to authenticate",
    "NLUPipeline": "nlu_lite.Pipeline",
}
# attributes of NLU's pipe object (nlu/pipe/pipeline.py) nlu_lite's Pipeline has no counterpart for
NLU_ONLY_ATTRIBUTES: dict[str, str] = {
    "fit": "nothing is trainable in nlu_lite",
    "viz_streamlit": NLU_ONLY_FUNCTIONS["viz"],
    "viz_streamlit_dashboard": NLU_ONLY_FUNCTIONS["viz"],
    "viz_streamlit_word_embed_manifold": NLU_ONLY_FUNCTIONS["viz"],
    "viz_streamlit_sentence_embed_manifold": NLU_ONLY_FUNCTIONS["viz"],
    "keys": _OPTIONS,
    "items": _OPTIONS,
    "values": _OPTIONS,
    "spark": _NO_SPARK,
    "vanilla_transformer_pipe": _NO_SPARK,
    "light_transformer_pipe": _NO_SPARK,
    "spark_transformer_pipe": _NO_SPARK,
    "prediction_output_level": "the level is predict(output_level=...)'s, or the model's own",
    "generate_class_metadata_table": _OPTIONS,
}
