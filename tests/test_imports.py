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
    for name in ("hub/registry.py", "errors.py", "frames/inputs.py", "options.py"):
        tree = ast.parse((root / name).read_text())
        imported = {
            (n.module or "") if isinstance(n, ast.ImportFrom) else a.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.Import, ast.ImportFrom))
            for a in (n.names if isinstance(n, ast.Import) else [n])
        }
        assert not any(m.split(".")[0] in {"torch", "transformers"} for m in imported), name
        assert not any(m in {"nlu_lite.pipeline", "nlu_lite.hub.loading"} for m in imported), name


def test_imports_public_names_are_kept():
    """The package face re-exports the same public names as before the tree had subpackages, and
    the module paths users import from (plot, the error classes) still work."""
    import nlu_lite
    import nlu_lite.errors
    import nlu_lite.plot

    assert sorted(nlu_lite.__all__) == sorted(
        "DEFAULT_SPELLING InvalidInputError InvalidOptionError LockFileError ModelLoadError ModelUnavailableError "
        "NluLiteError NoEquivalentError NotInNluLiteError Pipeline RegistryError UncoveredTaskError "
        "UnknownSpellingError __version__ "
        "add_registry download get_components info load lock models print_all_languages "
        "print_all_model_kinds_for_action print_components resolve version viz".split()
    )
    for name in nlu_lite.__all__:
        assert getattr(nlu_lite, name) is not None
    assert nlu_lite.errors.UnknownSpellingError is nlu_lite.UnknownSpellingError
    assert callable(nlu_lite.plot.plot_embeddings)
