"""import nlu_lite stays light, and imports flow one way."""

from __future__ import annotations

import subprocess
import sys


def test_imports_package_import_is_light():
    code = (
        "import sys, nlu_lite; nlu_lite.resolve('minilm');"
        "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'huggingface_hub') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_imports_registry_never_imports_model_code():
    import ast
    from pathlib import Path

    import nlu_lite

    root = Path(nlu_lite.__file__).parent
    for name in ("registry.py", "errors.py", "inputs.py"):
        tree = ast.parse((root / name).read_text())
        imported = {
            (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in (n.names if isinstance(n, ast.Import) else [n])
        }
        assert not any(m.split(".")[0] in {"torch", "transformers"} for m in imported), name
        assert not any(m in {"nlu_lite.pipeline", "nlu_lite.components"} for m in imported), name
