"""What a model folder says about itself: the sentence-transformers files beside config.json.

A folder saved by sentence-transformers describes how its sentence vectors are made:

- ``modules.json``: the chain of modules (Transformer → Pooling → Dense → Normalize) and the
  sub-folder of each;
- ``<n>_Pooling/config.json``: the pooling mode (``pooling_mode``, or the older
  ``pooling_mode_*_tokens`` flags);
- ``sentence_bert_config.json``: ``max_seq_length`` and ``do_lower_case``;
- ``config_sentence_transformers.json``: ``prompts`` and ``default_prompt_name``;
- ``<n>_Dense/config.json`` + weights: a linear projection after pooling.

These files are read here as data (JSON only: no module named in them is ever imported), the way
sentence-transformers reads them, so that a folder or hub model gives the vectors its own files
define.  Everything here works on a local folder; nothing touches the network or torch except
:func:`load_dense`, which reads a Dense module's weights.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlu_lite.errors import ModelLoadError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("nlu_lite")

# The files (relative to the model folder) that describe a sentence-transformers model.
ST_FILES = ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json")
# sentence-transformers' pooling modes, by their legacy flag names too
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}
# the pooling modes nlu_lite computes exactly as sentence-transformers does
SUPPORTED_POOLING = ("mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")
# Dense activations by the class name sentence-transformers writes; looked up, never imported
_ACTIVATIONS = {
    "torch.nn.modules.activation.Tanh": "tanh",
    "torch.nn.modules.linear.Identity": "identity",
    "torch.nn.modules.activation.ReLU": "relu",
    "torch.nn.modules.activation.GELU": "gelu",
    "torch.nn.modules.activation.Sigmoid": "sigmoid",
    "torch.nn.modules.activation.SiLU": "silu",
    "torch.nn.modules.activation.LeakyReLU": "leaky_relu",
    "torch.nn.modules.activation.ELU": "elu",
    "torch.nn.modules.activation.Softplus": "softplus",
    "torch.nn.modules.activation.Mish": "mish",
}
_MAX_JSON_BYTES = 1 << 20


@dataclass(frozen=True)
class DenseSpec:
    """One ``sentence_transformers.models.Dense`` module: where it is and its shape."""

    folder: str
    in_features: int
    out_features: int
    bias: bool
    activation: str  # a key of the activations nlu_lite knows: tanh, identity, relu, gelu, sigmoid, silu, …
    normalize_input: bool = False  # a Normalize module comes just before it: L2-normalise its input


@dataclass(frozen=True)
class FolderSettings:
    """The settings a model folder defines, each with the file it came from.

    ``model_dir`` is where config.json and the weights are (the folder itself, or the
    Transformer module's sub-folder in older sentence-transformers layouts).
    """

    model_dir: Path
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    dense: tuple[DenseSpec, ...] = ()
    unsupported: tuple[str, ...] = ()  # what the files ask for that nlu_lite cannot reproduce

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _read_json(path: Path) -> Any:
    """A small JSON file, or None where it is absent; a broken one is a typed error naming it."""
    if not path.is_file():
        return None
    try:
        if path.stat().st_size > _MAX_JSON_BYTES:
            raise ModelLoadError(f"{path} is larger than a model configuration file can be; is it the right file?")
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path} is not valid JSON ({exc}). Delete that copy and download it again.") from None


def _modules(folder: Path) -> list[dict[str, Any]]:
    raw = _read_json(folder / "modules.json")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(m, dict) for m in raw):
        raise ModelLoadError(f"{folder / 'modules.json'} is not a list of modules.")
    return sorted(raw, key=lambda m: int(m.get("idx", 0)) if isinstance(m.get("idx", 0), int) else 0)


def _subfolder(folder: Path, module: dict[str, Any]) -> Path:
    """A module's folder, which must stay inside the model folder."""
    rel = str(module.get("path", "") or "")
    target = (folder / rel).resolve()
    if target != folder.resolve() and folder.resolve() not in target.parents:
        raise ModelLoadError(f"{folder / 'modules.json'} names a module folder outside the model: {rel!r}.")
    return target


def _pooling_modes(config: dict[str, Any]) -> list[str]:
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        return [mode]
    if isinstance(mode, list) and all(isinstance(m, str) for m in mode):
        return list(mode)
    return [name for key, name in _LEGACY_POOLING.items() if config.get(key) is True]


def _dense(folder: Path, sub: Path) -> DenseSpec | str:
    config = _read_json(sub / "config.json")
    if not isinstance(config, dict):
        return f"a Dense module without a readable config.json in {sub.name}"
    activation_name = config.get("activation_function", "torch.nn.modules.activation.Tanh")
    activation = _ACTIVATIONS.get(str(activation_name))
    if activation is None:
        return f"a Dense module with activation {str(activation_name)[:80]!r}"
    if config.get("use_residual") or config.get("module_input_name", "sentence_embedding") != "sentence_embedding":
        return "a Dense module with a residual or non-default input"
    try:
        return DenseSpec(
            str(sub.relative_to(folder.resolve())),
            int(config["in_features"]),
            int(config["out_features"]),
            bool(config.get("bias", True)),
            activation,
        )
    except (KeyError, TypeError, ValueError):
        return f"a Dense module whose config.json lacks in_features/out_features ({sub.name})"


@dataclass
class _ModuleWalk:
    """A walk down modules.json: what it has found so far, and one step per module type."""

    folder: Path
    put: Callable[[str, Any, str], None]
    dense: list[DenseSpec]
    unsupported: list[str]
    model_dir: Path  # the Transformer module's files: the folder itself, or an older layout's sub-folder
    normalized: bool = False  # a Normalize module since the last Dense

    def transformer(self, sub: Path) -> None:
        if sub != self.folder.resolve() and (sub / "config.json").is_file():
            self.model_dir = sub

    def pooling(self, sub: Path) -> None:
        config = _read_json(sub / "config.json") or {}
        modes = _pooling_modes(config) if isinstance(config, dict) else []
        where = f"{sub.name}/config.json"
        if len(modes) == 1 and modes[0] in SUPPORTED_POOLING:
            self.put("pooling", modes[0], where)
        elif modes:
            self.unsupported.append(f"pooling {'+'.join(modes)} ({where})")
        if isinstance(config, dict) and config.get("include_prompt") is False:
            self.put("include_prompt", False, where)

    def normalize(self, sub: Path) -> None:
        self.normalized = True
        self.put("normalize", True, "modules.json")

    def dense_module(self, sub: Path) -> None:
        spec = _dense(self.folder, sub)
        if isinstance(spec, str):
            self.unsupported.append(spec)
            return
        # in the files' order: a Normalize before a Dense normalises its input, not the output
        self.dense.append(replace(spec, normalize_input=True) if self.normalized else spec)
        self.normalized = False
        self.put("normalize", False, "modules.json")

    def dropout(self, sub: Path) -> None:
        """No effect at inference."""


# the module types nlu_lite reproduces, by the last part of the class name modules.json gives
_MODULE_STEPS: dict[str, Callable[[_ModuleWalk, Path], None]] = {
    "Transformer": _ModuleWalk.transformer,
    "Pooling": _ModuleWalk.pooling,
    "Normalize": _ModuleWalk.normalize,
    "Dense": _ModuleWalk.dense_module,
    "Dropout": _ModuleWalk.dropout,
}


def _read_modules(
    folder: Path, put: Callable[[str, Any, str], None], dense: list[DenseSpec], unsupported: list[str]
) -> Path:
    """Walk modules.json: pooling, normalisation and Dense modules; returns the folder of the
    Transformer module's files (the folder itself, or an older layout's sub-folder).  A module of
    any other type is noted in ``unsupported``."""
    walk = _ModuleWalk(folder, put, dense, unsupported, model_dir=folder)
    modules = _modules(folder)
    if modules:
        put("normalize", False, "modules.json")
    for module in modules:
        short = str(module.get("type", "")).rsplit(".", 1)[-1]
        sub = _subfolder(folder, module)
        step = _MODULE_STEPS.get(short)
        if step is None:
            unsupported.append(f"a {short or 'nameless'} module (modules.json)")
        else:
            step(walk, sub)
    return walk.model_dir


def read_folder(folder: str | Path) -> FolderSettings:
    """Read what ``folder`` says about pooling, normalisation, length, casing and prompts."""
    folder = Path(folder)
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    dense: list[DenseSpec] = []
    unsupported: list[str] = []

    def put(key: str, value: Any, source: str) -> None:
        values[key] = value
        sources[key] = source

    model_dir = _read_modules(folder, put, dense, unsupported)
    for base in dict.fromkeys((model_dir, folder)):
        st = _read_json(base / "sentence_bert_config.json")
        if isinstance(st, dict):
            where = "sentence_bert_config.json"
            if isinstance(st.get("max_seq_length"), int) and st["max_seq_length"] > 0:
                put("max_length", int(st["max_seq_length"]), where)
            if st.get("do_lower_case") is True:
                put("lowercase_input", True, where)
            break
    st_config = _read_json(folder / "config_sentence_transformers.json")
    if isinstance(st_config, dict):
        where = "config_sentence_transformers.json"
        prompts = st_config.get("prompts")
        if isinstance(prompts, dict):
            clean = {str(k): str(v) for k, v in prompts.items() if isinstance(v, str) and v}
            if clean:
                put("prompts", tuple(sorted(clean.items())), where)
        default = st_config.get("default_prompt_name")
        if isinstance(default, str) and default:
            put("default_prompt", default, where)
    return FolderSettings(model_dir, values, sources, tuple(dense), tuple(unsupported))


def tokenizer_max_length(folder: Path) -> int | None:
    """``model_max_length`` from tokenizer_config.json, where it is a real limit (not 1e30)."""
    config = _read_json(folder / "tokenizer_config.json")
    if isinstance(config, dict):
        value = config.get("model_max_length")
        if isinstance(value, (int, float)) and 0 < value < 1_000_000:
            return int(value)
    return None


def load_dense(folder: Path, spec: DenseSpec, device: torch.device | str = "cpu") -> torch.nn.Module:
    """A Dense module's linear layer and activation, its weights read without running code
    (safetensors, else ``torch.load(weights_only=True)``)."""
    import torch

    sub = folder / spec.folder
    if (sub / "model.safetensors").is_file():
        from safetensors.torch import load_file

        state = load_file(str(sub / "model.safetensors"))
    elif (sub / "pytorch_model.bin").is_file():
        state = torch.load(sub / "pytorch_model.bin", map_location="cpu", weights_only=True)
    else:
        raise ModelLoadError(f"The Dense module in {sub} has no weights (model.safetensors or pytorch_model.bin).")
    linear = torch.nn.Linear(spec.in_features, spec.out_features, bias=spec.bias)
    weights = {k.removeprefix("linear."): v for k, v in state.items() if k.startswith("linear.")}
    try:
        linear.load_state_dict(weights)
    except RuntimeError as exc:
        raise ModelLoadError(f"The Dense weights in {sub} do not match its config.json ({exc}).") from None
    activation: torch.nn.Module = {
        "tanh": torch.nn.Tanh,
        "identity": torch.nn.Identity,
        "relu": torch.nn.ReLU,
        "gelu": torch.nn.GELU,
        "sigmoid": torch.nn.Sigmoid,
        "silu": torch.nn.SiLU,
        "leaky_relu": torch.nn.LeakyReLU,
        "elu": torch.nn.ELU,
        "softplus": torch.nn.Softplus,
        "mish": torch.nn.Mish,
    }[spec.activation]()  # with its defaults, as sentence-transformers makes it
    return torch.nn.Sequential(linear, activation).eval().to(device)


def load_head(folder: Path, specs: Sequence[DenseSpec], device: torch.device | str = "cpu") -> torch.nn.Module:
    """The model's sentence head: its Dense modules in the files' order, each behind an L2
    normalisation where a Normalize module comes before it (a Normalize at the end of the chain is
    the pooler's own ``normalize``)."""
    import torch

    class Normalize(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(x, p=2.0, dim=-1)

    layers: list[torch.nn.Module] = []
    for spec in specs:
        dense = load_dense(folder, spec, device)
        layers.append(torch.nn.Sequential(Normalize(), dense) if spec.normalize_input else dense)
    return layers[0] if len(layers) == 1 else torch.nn.Sequential(*layers)
