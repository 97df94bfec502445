"""The factory: every way of naming a model (a spelling, ``hf:org/name@revision``, ``path=DIR``)
parsed in one place, turned into registry-like entries, and built into a Pipeline.

``nlu_lite.load`` and ``nlu_lite.download`` live here; the package face only re-exports them.
Workers of Dask and Spark rebuild pipelines through :func:`nlu_lite.pipeline.build` too, so the
device and precision checks hold everywhere.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu_lite.errors import InvalidOptionError, ModelLoadError, ModelUnavailableError, UnknownSpellingError
from nlu_lite.hub.folder import read_folder
from nlu_lite.hub.loading import file_max_length, quiet_transformers
from nlu_lite.hub.lockfile import with_lock
from nlu_lite.hub.registry import STAND_INS_ENV_VAR, Entry, Source, StandIn, is_commit, resolve
from nlu_lite.hub.saving import MANIFEST, read_manifest
from nlu_lite.hub.sources import download as download_entry
from nlu_lite.hub.sources import locate

if TYPE_CHECKING:
    from nlu_lite.pipeline import Pipeline

logger = logging.getLogger("nlu_lite")

DEFAULT_SPELLING = "en.embed.all_minilm_l6_v2"
HF_PREFIX = "hf:"
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,254}")


def entries(spelling: str | None, path: str | os.PathLike[str] | None = None) -> list[Entry]:
    """The entries a ``load()`` call names: a folder, or one per space-separated spelling
    (registry spellings and aliases, and ``hf:org/name@revision``)."""
    return _request(spelling, path)[0]


def _request(spelling: str | None, path: str | os.PathLike[str] | None) -> tuple[list[Entry], str | None]:
    """The entries named, and the NLU request they come from (a saved pipeline's own, read from
    its manifest once)."""
    if path is not None:  # a request beside it names the pipeline (NLU's nlu_ref: its column names)
        if spelling is not None and (not isinstance(spelling, str) or not spelling.strip()):
            raise UnknownSpellingError(repr(spelling), hint="With path=..., the request only names the models.")
        if not str(path).strip():  # '' would be the current folder
            raise InvalidOptionError("path", path, "a model folder (write '.' for the current one)")
        folder = Path(path).expanduser().resolve()
        if (folder / MANIFEST).is_file():  # written by pipe.save()
            entries, ref = read_manifest(folder)
            return entries, spelling or ref
        return [path_entry(path)], spelling
    if spelling is None:
        spelling = DEFAULT_SPELLING
    if not isinstance(spelling, str) or not spelling.strip():
        raise UnknownSpellingError(repr(spelling), hint="Give a spelling such as 'en.embed.bert.small_L2_256'.")
    entries = [hf_entry(s) if is_hf_spec(s) else resolve(s) for s in spelling.split()]
    for entry in entries:
        if entry.stand_in is not None:
            _warn_stand_in(entry.stand_in)
    return entries, spelling


# the stand-ins this process has warned about (once each)
_WARNED: set[str] = set()


def _warn_stand_in(stand_in: StandIn) -> None:
    """Say once per NLU name that it loads a stand-in, and how to refuse it."""
    if stand_in.name.lower() in _WARNED:
        return
    _WARNED.add(stand_in.name.lower())
    warnings.warn(
        f"{stand_in.describe()}. df.attrs['stand_ins'] records it; set {STAND_INS_ENV_VAR}=refuse to refuse "
        "stand-ins instead.",
        UserWarning,
        stacklevel=4,
    )


def load(
    request: str | None = None,
    path: str | os.PathLike[str] | None = None,
    verbose: bool = False,
    gpu: bool = False,
    streamlit_caching: bool = False,
    apple_silicon: bool = False,
    get_tracer: bool = False,
    *,
    device: str | None = None,
    dtype: str = "float32",
    engine: str | None = None,
) -> Pipeline:
    """Build a Pipeline for a spelling, several separated by spaces (as NLU allows), a local folder
    (``path=DIR``), or any hub model (``'hf:org/name@revision'``); without a request, the offline
    default (the packaged all-MiniLM-L6-v2).  Files come from the entry's sources in order: local
    folder, installed package, the Hugging Face cache at the pinned revision, then a download
    (never when HF_HUB_OFFLINE is set).  A folder or hub model is described by its own files.

    NLU's keywords, in NLU's order: ``verbose`` logs what is assembled (logger ``nlu_lite``);
    ``gpu=True`` means ``device='cuda'`` (an error where torch sees no GPU); ``apple_silicon=True``
    means ``device='mps'``; ``streamlit_caching`` and ``get_tracer`` are accepted and have no effect
    (nlu_lite keeps no Spark session to cache or trace; in Streamlit, wrap load in
    ``st.cache_resource``).  ``request='from_disk'`` with ``path`` is NLU's way of loading a folder.

    ``device``: 'cpu' (default), 'cuda', 'cuda:N', 'mps', or 'auto' (cuda > mps > cpu).
    ``dtype``: 'float32' (default), 'bfloat16' (CPUs with native support, GPUs) or 'float16'
    (GPUs): matrix products run in that precision, vectors come back as float32.
    ``engine``: 'auto' (default, or ``$NLU_LITE_ENGINE``): on an x86-64 CPU, post-norm encoders
    (BERT and kin, MPNet, DistilBERT) run on the fused oneDNN engine (weights pre-packed once at
    load, same numbers to ~1e-6; ``nlu_lite.engine.fused_cpu``) and everything else on the transformers
    forward; 'torch': always the transformers forward.
    ``pipe.components`` and ``df.attrs['engines']`` say which each model got.
    """
    from nlu_lite.pipeline import build

    if request == "from_disk" and path is not None:
        request = None
    chosen = _device(device, gpu, apple_silicon)
    if verbose:
        _log_to_stderr()
    named, ref = _request(request, path)
    pipe = build(tuple(named), chosen, dtype, engine)
    pipe.nlu_ref = ref or pipe.nlu_ref
    if verbose:
        for row in pipe.components:
            logger.info("nlu_lite: %s", ", ".join(f"{k}={v}" for k, v in row.items()))
    return pipe


def _device(device: Any, gpu: bool, apple_silicon: bool) -> Any:
    if gpu and apple_silicon:
        raise InvalidOptionError("gpu", gpu, "either gpu=True (CUDA) or apple_silicon=True (MPS), not both")
    wanted = "cuda" if gpu else ("mps" if apple_silicon else None)
    if wanted and device not in (None, wanted):
        raise InvalidOptionError("device", device, f"{wanted!r} or None with {'gpu' if gpu else 'apple_silicon'}=True")
    if device is None or device == "":
        return wanted or "cpu"
    return device  # checked where every pipeline is built (devices.pick_device)


def _log_to_stderr() -> None:
    """verbose=True: INFO messages of the nlu_lite logger on stderr (once)."""
    if not any(getattr(h, "_nlu_lite", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler._nlu_lite = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def download(spelling: str, *, progress: bool = True, force: bool = False) -> list[Path]:
    """Fetch the files of one or more spellings (space-separated; 'hf:org/name@rev' too) into the
    Hugging Face cache (``HF_HOME``), so that later loads work offline.  Returns their folders.
    With HF_HUB_OFFLINE set, only reports what is already there."""
    folders = []
    for name in spelling.split():
        if is_hf_spec(name):  # the commit it names, then every file of it (weights too; again with force)
            folders.append(download_entry(hf_entry(name), progress=progress, force=force))
        else:
            folders.append(download_entry(with_lock(resolve(name)), progress=progress, force=force))
    return folders


def _sanitize(name: str) -> str:
    import re

    cleaned = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()
    return cleaned or "model"


def adhoc_entry(folder: Path, name: str, source: Source) -> Entry:
    """An entry for a model that is not in the registry.  It states nothing: everything comes from
    the model's own files when it is loaded (see :func:`settle`); the dimension and layer count
    are read from its config.json here."""
    from transformers import AutoConfig

    model_dir = read_folder(folder).model_dir
    try:
        with quiet_transformers():
            config = AutoConfig.from_pretrained(model_dir, trust_remote_code=False)
    except Exception as exc:
        raise ModelLoadError(
            f"{folder} does not hold a transformers model: its config.json cannot be read ({exc})."
        ) from None
    dim = getattr(config, "hidden_size", None) or getattr(config, "d_model", None)
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None)
    if not dim or not layers:
        raise ModelLoadError(f"{folder}: config.json names no hidden size or layer count; is it an encoder?")
    return Entry(
        spelling=name,
        task="embed",
        source=source,
        dimension=int(dim),
        layers=int(layers),
        max_length=file_max_length(model_dir, config)[0],
        case_sensitive=True,  # settled from the tokenizer at load
        family="ad hoc",
        language="",
        heads=getattr(config, "num_attention_heads", None),
        architecture=getattr(config, "model_type", None),
        licence="see the model's own card",
        description=f"loaded from {source.describe()}",
    )


def path_entry(path: str | os.PathLike[str]) -> Entry:
    """An entry for a local folder of model files (``load(path=DIR)``)."""
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        left = sorted(folder.parent.glob(f".{folder.name}.*.old/saved")) if folder.parent.is_dir() else []
        hint = f" A save there was interrupted: its earlier copy is {left[-1]}; move it back." if left else ""
        raise ModelUnavailableError(f"No such folder: {folder}. load(path=...) takes a folder with config.json.{hint}")
    if not (read_folder(folder).model_dir / "config.json").is_file():
        raise ModelUnavailableError(f"{folder} has no config.json; save the model there with save_pretrained().")
    return adhoc_entry(folder, "local." + _sanitize(folder.name), Source(path=str(folder)))


def is_hf_spec(spec: str) -> bool:
    return spec.lower().startswith(HF_PREFIX)


def parse_hf_spec(spec: str) -> tuple[str, str | None]:
    """'hf:org/name@revision' → (repo, revision or None).  The revision must be a commit hash or
    a plain branch or tag name: nothing that could point outside the cache."""
    body = spec[len(HF_PREFIX) :] if is_hf_spec(spec) else spec
    repo, _, revision = body.partition("@")
    repo, revision = repo.strip(), revision.strip()
    if not repo or repo.count("/") > 1 or any(c.isspace() for c in repo) or repo.startswith((".", "/")):
        raise ModelUnavailableError(f"{spec!r} is not of the form 'hf:org/name@revision'.")
    if revision and (not _REF.fullmatch(revision) or ".." in revision or revision.endswith((".lock", "/", "."))):
        raise ModelUnavailableError(
            f"{spec!r}: {revision[:60]!r} is not a commit hash or a branch or tag name. "
            "Use 'hf:org/name@<40-hex commit>'."
        )
    return repo, (revision or None)


def hf_entry(spec: str) -> Entry:
    """An entry for any hub model, ``hf:org/name@revision``; warns unless pinned to a commit."""
    repo, revision = parse_hf_spec(spec)
    pinned = is_commit(revision)
    if not pinned:
        warnings.warn(
            f"{spec!r} is not pinned to a commit: the files may change under you. "
            f"Use 'hf:{repo}@<40-hex commit>' for reproducible results.",
            UserWarning,
            stacklevel=3,
        )
    folder = locate(Source(hf=repo, revision=revision), allow_download=True).folder  # the cache, else the hub
    assert folder is not None  # a hub source is found or downloaded, or an error says why not
    sha = folder.name
    return adhoc_entry(folder, _sanitize(repo.replace("/", ".")), Source(hf=repo, revision=sha))


def viz(
    pipe: Pipeline, text_to_viz: str | list[str], viz_type: str = "ner", return_html: bool = False, **options: Any
) -> Any:
    """NLU's ``nlu.viz(pipe, text)``: the same as ``pipe.viz(text)`` (see Pipeline.viz)."""
    return pipe.viz(text_to_viz, viz_type=viz_type, return_html=return_html, **options)
