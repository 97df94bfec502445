"""Devices and precisions: which ones exist here, checked once wherever a pipeline is built."""

from __future__ import annotations

import functools
from typing import Any

from nlu_lite.errors import InvalidOptionError


def pick_device(device: Any) -> str:
    """The device name a pipeline runs on, checked: a name ('cpu', 'cuda', 'cuda:N', 'mps',
    'auto') or a torch.device, of a kind torch sees here."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else ("mps" if _mps_available(torch) else "cpu")
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):  # 0 is no device name (it would read as "none given": the CPU)
        raise InvalidOptionError("device", device, "a device name: 'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'")
    try:
        kind = torch.device(device).type
    except (RuntimeError, TypeError):
        kind = None
    if kind not in ("cpu", "cuda", "mps"):  # not a device name, or one nlu_lite runs nothing on (meta, xpu, …)
        raise InvalidOptionError("device", device, "'cpu', 'cuda', 'cuda:N', 'mps' or 'auto'")
    if kind == "cuda" and not torch.cuda.is_available():
        raise InvalidOptionError("device", device, "'cpu' or 'auto': torch sees no CUDA GPU here")
    if kind == "mps" and not _mps_available(torch):
        raise InvalidOptionError("device", device, "'cpu' or 'auto': torch sees no Apple GPU (MPS) here")
    return device


def _mps_available(torch: Any) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return mps is not None and bool(mps.is_available())


ENGINES = ("auto", "torch")


def pick_engine(engine: str | None) -> str:
    """'auto': the fused CPU engine where it vouches for a model's numbers (nlu_lite.engine.fused_cpu), else the
    transformers forward; 'torch': always the transformers forward.  None: $NLU_LITE_ENGINE or 'auto'."""
    import os

    chosen = engine if engine is not None else os.environ.get("NLU_LITE_ENGINE", "auto") or "auto"
    if chosen not in ENGINES:
        source = "engine" if engine is not None else "NLU_LITE_ENGINE"
        raise InvalidOptionError(source, chosen, ENGINES)
    return chosen


DTYPES = ("float32", "bfloat16", "float16")
_INT8 = (
    "'float32' or 'bfloat16'. Integer-8 is not offered: every int8 scheme tried on the real "
    "all-MiniLM-L6-v2 (torch dynamic quantization with per-tensor or per-channel weights, with the "
    "feed-forward block kept in float32, and CTranslate2's int8) gives token vectors whose min cosine to "
    "float32 is below the 0.99 nlu_lite requires (benchmarks/RESULTS.md). dtype='bfloat16' is the fast "
    "option on a CPU with AMX or AVX512-BF16: several times float32's speed at cosine 0.9997 on the real "
    "MiniLM (measured: docs/speed.md)"
)
REFUSED_DTYPES = {"int8": _INT8, "qint8": _INT8, "uint8": _INT8}


@functools.lru_cache(maxsize=1)
def packs_bfloat16() -> bool:
    """Has oneDNN bfloat16 GEMM kernels for this CPU (AVX512-BF16/AMX, or AVX-NE-CONVERT)?  Asked of
    oneDNN itself, once: packing a bfloat16 weight fails where it has none (or torch has no oneDNN).
    Both the fused engine and the load-time warning go by it."""
    import torch

    try:
        torch.ops.mkldnn._reorder_linear_weight(torch.zeros(16, 16, dtype=torch.bfloat16), None)
    except (RuntimeError, AttributeError):
        return False
    return True


def compute_dtype(dtype: str) -> Any:
    """The torch dtype a precision name computes in (None: float32, the model's own); a name
    :data:`DTYPES` does not list is refused as :func:`pick_dtype` refuses it."""
    import torch

    if dtype not in DTYPES:
        raise InvalidOptionError("dtype", dtype, DTYPES)
    return {"float32": None, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def pick_dtype(dtype: str, device: str) -> str:
    import warnings

    import torch

    if dtype in REFUSED_DTYPES:
        raise InvalidOptionError("dtype", dtype, REFUSED_DTYPES[dtype])
    if dtype not in DTYPES:
        raise InvalidOptionError("dtype", dtype, DTYPES)
    kind = torch.device(device).type
    if dtype == "float16" and kind == "cpu":
        raise InvalidOptionError("dtype", dtype, "'float32' or 'bfloat16' on a CPU ('float16' is for GPUs)")
    if dtype == "bfloat16" and kind == "cpu" and not packs_bfloat16():
        warnings.warn(
            "This CPU has no bfloat16 kernels (AVX512-BF16, AMX or AVX-NE-CONVERT): dtype='bfloat16' is emulated "
            "here and runs several times slower than float32 (6-8x on an AVX2 CPU, "
            "benchmarks/RESULTS-amd-avx2.md); the default float32 is the fast choice on this CPU.",
            UserWarning,
            stacklevel=3,
        )
    return dtype
