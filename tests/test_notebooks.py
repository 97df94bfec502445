"""The notebooks run from a clean kernel, offline, as users will run them (and refresh the figures
the user guide shows)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_notebooks_exist():
    assert [p.stem for p in NOTEBOOKS] == ["01_quickstart", "02_registry", "03_visualise", "04_big_data"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("NLU_LITE_REGISTRY", raising=False)
    started = time.time()
    book = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert all(
        c.get("outputs") or not c.source.strip() or c.source.startswith(("client.close", "%matplotlib"))
        for c in book.cells
        if c.cell_type == "code" and "=" not in c.source.splitlines()[-1]
    )
    if path.stem == "03_visualise":
        figure = path.parent.parent / "docs" / "figures" / "tokens_pca.png"
        assert figure.stat().st_size > 10_000
        assert figure.stat().st_mtime >= started - 1  # drawn by this run, not left over
