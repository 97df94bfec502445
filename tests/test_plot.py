"""Notebook helpers: plots (checked on the figure's artists), HTML repr, print_info."""

from __future__ import annotations

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from nlu_lite import plot  # noqa: E402

TEXTS = ["I love NLP. It is fun.", "Cats sleep a lot.", None, "Dogs bark loudly!"]


def test_plot_embeddings_points_and_colours(tiny):
    df = tiny.predict(TEXTS, output_level="token")
    fig = plot.plot_embeddings(df, color_by="sentence_id")
    ax = fig.axes[0]
    collections = ax.collections
    n_points = sum(len(c.get_offsets()) for c in collections)
    assert n_points == int((~df["en_embed_tests_tiny_embeddings"].isna()).sum())
    assert len(collections) == df["sentence_id"][df["sentence_id"] >= 0].nunique()
    assert len(ax.texts) == n_points  # annotated: few points
    by_input = plot.plot_embeddings(df, color_by="origin_index", annotate=False)
    assert len(by_input.axes[0].collections) == 3 and not by_input.axes[0].texts
    with pytest.raises(Exception, match="color_by"):
        plot.plot_embeddings(df, color_by="nope")


def test_plot_defaults_and_odd_columns(tiny):
    """The default colours work at every level (no sentence_id above token level: one colour);
    missing labels are one group; a column that is not one vector per row, labels that cannot be
    grouped and a k that is not a row count are typed errors."""
    import pandas as pd

    from nlu_lite.errors import InvalidOptionError

    for level in ("sentence", "document"):
        assert len(plot.plot_embeddings(tiny.predict(TEXTS, output_level=level)).axes[0].collections) == 1
    assert plot.plot_embeddings(tiny.predict(TEXTS, convention="nlu5"))
    frame = pd.DataFrame({"text": TEXTS, "label": [1.0, np.nan, np.nan, 2.0], "lists": [[1], [2], [3], [4]]})
    df = tiny.predict(frame, output_level="document")
    assert len(plot.plot_embeddings(df, color_by="label").axes[0].collections) == 3  # 1.0, NaN, 2.0
    index = pd.MultiIndex.from_tuples([("x", 1), ("x", 2), ("y", 3), ("y", 4)], names=["g", "h"])
    assert len(plot.plot_embeddings(tiny.predict(pd.Series(TEXTS, index=index)), color_by="g").axes[0].collections) == 2
    with pytest.raises(InvalidOptionError, match="color_by"):
        plot.plot_embeddings(df, color_by="lists")
    for call in (
        lambda: plot.plot_embeddings(df, column="document"),
        lambda: plot.plot_similarity(df, column="label"),
        lambda: plot.plot_similarity(tiny.predict(TEXTS, output_level="document", convention="nlu5")),
    ):
        with pytest.raises(InvalidOptionError, match="one vector per row"):
            call()
    for k in (2.5, -1, True):
        with pytest.raises(InvalidOptionError, match="k="):
            plot.nearest(tiny.predict(TEXTS), "love", k=k)


def test_plot_similarity_cells(tiny, tmp_path):
    df = tiny.predict(TEXTS, output_level="sentence")
    fig = plot.plot_similarity(df)
    image = fig.axes[0].images[0]
    n = int((~df["en_embed_tests_tiny_embeddings"].isna()).sum())
    data = image.get_array()
    assert data.shape == (n, n)
    np.testing.assert_allclose(np.diag(data), 1.0, atol=1e-5)
    path = tmp_path / "sim.png"
    fig.savefig(path)
    assert path.stat().st_size > 1000 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_pca_and_nearest(tiny):
    rng = np.random.default_rng(0)
    m = rng.normal(size=(50, 8)) @ np.diag([10, 5, 1, 1, 1, 1, 1, 1])
    xy = plot.pca_2d(m)
    assert xy.shape == (50, 2) and np.var(xy[:, 0]) > np.var(xy[:, 1])
    df = tiny.predict(["king queen man woman", "apple banana"], output_level="token")
    near = plot.nearest(df, "king", k=3)
    assert len(near) == 3 and "king" not in set(near["token"])
    assert (np.diff(near["cosine"].to_numpy()) <= 1e-9).all()
    matrix = np.stack(df["en_embed_tests_tiny_embeddings"])
    row = plot.cosine_matrix(matrix)[list(df["token"]).index("king")]
    np.testing.assert_allclose(near["cosine"].to_numpy(), np.sort(row)[::-1][1:4], atol=1e-5)
    with pytest.raises(Exception, match="query"):
        plot.nearest(df, "absent")


def test_pipeline_html_and_info(tiny, capsys):
    html = tiny._repr_html_()
    assert "en.embed.tests.tiny" in html and "nlu-lite-tests/tiny-bert" in html and "<table>" in html
    assert "32" in html and "device cpu" in html
    tiny.print_info()
    out = capsys.readouterr().out
    for option in ("output_level", "pooling", "layers", "embedding_format", "prompt", "token_budget"):
        assert option in out
