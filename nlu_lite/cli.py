"""The ``nlu-lite`` command line.

    nlu-lite models '*bert*'                      # the catalogue (wildcards)
    nlu-lite info en.embed.bert.small_L2_256      # one entry in full
    nlu-lite download en.embed.bert.small_L2_256  # prefetch into the Hugging Face cache
    nlu-lite lock                                 # freeze the commits of tracked models (nlu-lite.lock)
    nlu-lite predict "I love NLP" --model en.embed.all_minilm_l6_v2 --level token --positions
    nlu-lite predict --file texts.txt --out vectors.parquet   # streamed; run again to continue
    echo "I love NLP" | nlu-lite predict -

Errors are one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from nlu_lite.errors import InvalidInputError, NluLiteError
from nlu_lite.options import OUTPUT_LEVELS

if TYPE_CHECKING:
    import pandas as pd


def read_lines(stream: BinaryIO, source: str) -> Iterator[str]:
    """One text per line, as ``predict_iter`` reads a text file: lines end at ``\n`` (or
    ``\r\n``) only, so a form feed, U+2028 or U+0085 inside a line stays in it and line k is row
    k.  Read lazily, a line at a time.  A byte-order mark at the start (Notepad, Excel's "CSV UTF-8")
    is not text: it is dropped, as ``utf-8-sig`` drops it, so line 1's offsets are the editor's."""
    from nlu_lite.frames.inputs import strip_line_end  # (pandas: not at the command line's start)

    for number, raw in enumerate(stream, start=1):  # a binary stream splits at b"\n" only
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInputError(
                f"{source} is not UTF-8 text (line {number}: byte {exc.start} of it is "
                f"{raw[exc.start : exc.start + 1]!r}). Convert it first, e.g. iconv -f latin1 -t utf-8."
            ) from None
        yield strip_line_end(line)


def split_lines(data: bytes, source: str) -> list[str]:
    """``read_lines`` over bytes held in memory."""
    return list(read_lines(io.BytesIO(data), source))


@contextlib.contextmanager
def _texts(args: argparse.Namespace) -> Iterator[Iterable[str]]:
    """The texts to embed: the TEXT argument, or the lines of --file or of stdin ('-'), read as
    they are used."""
    if args.file:
        try:
            stream = open(args.file, "rb")  # noqa: SIM115 (closed below, after the lines are used)
        except OSError as exc:
            raise InvalidInputError(f"Cannot read {args.file}: {exc.strerror}.") from None
        with stream:
            yield read_lines(stream, args.file)
    elif args.text == "-":
        binary = getattr(sys.stdin, "buffer", None)  # bytes, so that only \n ends a line
        if binary is None:
            binary = io.BytesIO(sys.stdin.read().encode("utf-8", "surrogatepass"))
        yield read_lines(binary, "standard input")
    elif args.text is None:
        raise NluLiteError("Give a TEXT, '-' to read lines from stdin, or --file FILE.")
    else:
        yield [args.text]


def _readable(df: pd.DataFrame, shown: int = 4) -> str:
    """The DataFrame as text, each vector cut to its first values and its length."""
    from nlu_lite.frames.output import vector_columns

    view = df.copy()
    for name in vector_columns(view):
        view[name] = [
            "" if v is None else "[" + ", ".join(f"{x:.4f}" for x in v[:shown]) + f", …] ({len(v)})" for v in view[name]
        ]
    return view.to_string()


def _predict(args: argparse.Namespace) -> int:
    import nlu_lite

    options = {"output_level": args.level, "positions": args.positions}
    if args.out:  # a wrong path fails before the model loads and the texts run
        from nlu_lite.frames.output import check_frame_target

        check_frame_target(args.out, "--out")
    with _texts(args) as texts:
        if args.out and Path(args.out).suffix.lower() == ".parquet":
            # streamed: memory of one chunk, and an interrupted run continues where it stopped
            pipe = nlu_lite.load(args.model, device=args.device)
            progress = None if sys.stderr.isatty() else False
            rows = pipe.predict_to_parquet(texts, args.out, chunk_rows=args.chunk_rows, progress=progress, **options)
            print(f"wrote {rows} rows to {args.out}", file=sys.stderr)
            return 0
        texts = list(texts)
    pipe = nlu_lite.load(args.model, device=args.device)
    df = pipe.predict(texts, progress=False, **options)
    if args.out:
        from nlu_lite.frames.output import write_frame

        write_frame(df, args.out)
        print(f"wrote {len(df)} rows to {args.out}", file=sys.stderr)
    else:
        print(_readable(df))
    return 0


def _models(args: argparse.Namespace) -> int:
    import nlu_lite

    df = nlu_lite.models(args.pattern)
    if df.empty:
        print(f"no model matches {args.pattern!r}", file=sys.stderr)
        return 1
    cols = ["spelling", "task", "dimension", "layers", "size_mb", "cached", "repo"]
    print(df[cols].to_string(index=False))
    return 0


def _info(args: argparse.Namespace) -> int:
    import nlu_lite

    print(nlu_lite.info(args.spelling))
    return 0


def _download(args: argparse.Namespace) -> int:
    import nlu_lite

    for spelling in args.spellings:
        for folder in nlu_lite.download(spelling, progress=not args.quiet):
            print(f"{spelling}\t{folder}")
    return 0


def _lock(args: argparse.Namespace) -> int:
    import nlu_lite
    from nlu_lite.hub.lockfile import read_lock

    file = nlu_lite.lock(args.file, update=args.update)
    models = read_lock(file)
    for repo, item in models.items():
        print(f"{repo}\t{item['revision']}\t{', '.join(item['spellings'])}")
    print(f"{len(models)} tracked models locked in {file}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    import nlu_lite

    parser = argparse.ArgumentParser(prog="nlu-lite", description="Embeddings as pandas DataFrames, NLU-style.")
    parser.add_argument("--version", action="version", version=f"nlu_lite {nlu_lite.__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (to stderr)")
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("models", help="list the catalogue")
    m.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, e.g. '*bert*' (default: all)")
    m.set_defaults(func=_models)
    i = sub.add_parser("info", help="show one registry entry in full")
    i.add_argument("spelling")
    i.set_defaults(func=_info)
    d = sub.add_parser("download", help="prefetch model files into the Hugging Face cache")
    d.add_argument("spellings", nargs="+", metavar="SPELLING")
    d.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    d.set_defaults(func=_download)
    lk = sub.add_parser("lock", help="freeze the commits of tracked models in a lock file")
    lk.add_argument("--file", help="the lock file (default: $NLU_LITE_LOCK, else ./nlu-lite.lock)")
    lk.add_argument("--update", action="store_true", help="replace commits the file already holds")
    lk.set_defaults(func=_lock)
    p = sub.add_parser("predict", help="embed text and print or save the DataFrame")
    p.add_argument("text", nargs="?", help="the text; '-' reads one text per line from stdin")
    p.add_argument("--file", help="read one text per line from FILE")
    p.add_argument("--model", default=nlu_lite.DEFAULT_SPELLING, help="model spelling (default: %(default)s)")
    p.add_argument("--level", default=None, choices=OUTPUT_LEVELS)
    p.add_argument("--positions", action="store_true", help="add begin/end character offsets")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto (default: %(default)s)")
    p.add_argument(
        "--out",
        help="write to .parquet, .csv or .jsonl instead of printing (.parquet streams: the lines are read and "
        "written a chunk at a time, and the same command again continues an interrupted run)",
    )
    p.add_argument("--chunk-rows", type=int, default=10_000, help="lines per chunk for .parquet (default: %(default)s)")
    p.set_defaults(func=_predict)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    try:
        return int(args.func(args))
    except NluLiteError as exc:
        print(f"nlu-lite: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"nlu-lite: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nlu-lite: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
