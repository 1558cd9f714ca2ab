"""The `rag` command line: ingest documents, search them, list and remove them."""

import argparse
import json
import os
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from rag.errors import RagError

if TYPE_CHECKING:
    from rag.embeddings import SentenceTransformerEmbeddings
    from rag.ingest import IngestReport
    from rag.settings import Settings
    from rag.store import DocumentStore

EXAMPLES = """\
examples:
  rag ingest                       index ./corpus (only new or changed files are embedded)
  rag ingest notes/ paper.md       index a folder and a file
  rag search "what did the Meta spokesperson say?" -k 3
  rag search "behemoth delay" --json | jq '.results[0]'
  rag documents                    list indexed documents with their chunk counts

settings come from rag.toml and RAG_* variables, e.g. RAG_DATA_DIR=/srv/rag,
RAG_RETRIEVAL__K=5, RAG_CHUNKING__SIZE=800 (see README.md)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rag",
        description="Offline question answering over your documents, with cited passages.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (default ./rag.toml)")
    parser.add_argument("--data-dir", metavar="DIR", type=Path, help="index folder (default .rag)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        help="index .txt and .md files; re-running embeds only what changed",
        description="Index files and folders. Unchanged files are skipped, changed files "
        "replace their old chunks, and files removed from an ingested folder are "
        "dropped from the index. A file that fails to load is reported and keeps its "
        "previous chunks; the exit status is 1 if any file failed.",
    )
    ingest.add_argument(
        "paths",
        nargs="*",
        type=Path,
        default=[Path("corpus")],
        metavar="PATH",
        help="files or folders (default: corpus/)",
    )
    bar = ingest.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None, help="always show progress")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show it")
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")

    search = commands.add_parser(
        "search",
        help="show the passages most similar to a query",
        description="Retrieve the top-k chunks for a query, with cosine similarity score, "
        "source file and exact character offsets.",
    )
    search.add_argument("query", help="the question or keywords")
    search.add_argument("-k", type=int, metavar="N", help="number of passages (default: setting)")
    search.add_argument("--json", action="store_true", help="print one JSON object")

    commands.add_parser("documents", help="list indexed documents and their chunk counts")

    remove = commands.add_parser("remove", help="drop documents from the index (files stay)")
    remove.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    return parser


def _open(settings: "Settings") -> tuple["SentenceTransformerEmbeddings", "DocumentStore"]:
    from rag.embeddings import SentenceTransformerEmbeddings
    from rag.store import open_store

    embeddings = SentenceTransformerEmbeddings.from_settings(settings.embeddings)
    return embeddings, open_store(settings, embeddings)


def _display(source: str) -> str:
    try:
        return str(Path(source).relative_to(Path.cwd()))
    except ValueError:
        return source


def _print_report(report: "IngestReport") -> None:
    attempted = len(report.new) + len(report.updated) + len(report.unchanged)
    if attempted or report.removed or not report.failed:
        print(
            f"Files:  {len(report.new)} added, {len(report.updated)} updated, "
            f"{len(report.unchanged)} skipped (unchanged), {len(report.removed)} deleted"
        )
        print(
            f"Chunks: {report.chunks_added} added, {report.chunks_skipped} skipped, "
            f"{report.chunks_deleted} deleted; {report.chunks_embedded} embedded "
            f"in {report.seconds:.1f}s"
        )
    if report.ignored:
        kinds = sorted({Path(p).suffix or "(no extension)" for p in report.ignored})
        print(f"Ignored {len(report.ignored)} files of unsupported types: {', '.join(kinds)}")
    for problem in report.failed:
        print(f"rag: error: {_display(problem.path)}: {problem.reason}", file=sys.stderr)


def _ingest(args: argparse.Namespace, settings: "Settings") -> int:
    from rag.ingest import ingest

    embeddings, store = _open(settings)
    report = ingest(args.paths, store, embeddings, settings, progress=args.progress)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        for problem in report.failed:
            print(f"rag: error: {_display(problem.path)}: {problem.reason}", file=sys.stderr)
    else:
        _print_report(report)
    return 1 if report.failed else 0


def _search(args: argparse.Namespace, settings: "Settings") -> int:
    from rag.retrieval import DenseRetriever, Passage, clean_query

    query = clean_query(args.query)
    k = args.k if args.k is not None else settings.retrieval.k
    if k < 1:
        raise RagError("-k must be at least 1")
    _, store = _open(settings)
    passages = [
        Passage.from_document(d) for d in DenseRetriever(vectors=store.vectors, k=k).invoke(query)
    ]
    if args.json:
        results = [{"rank": rank, **p.model_dump()} for rank, p in enumerate(passages, 1)]
        print(
            json.dumps({"query": query, "k": k, "results": results}, ensure_ascii=False, indent=2)
        )
        return 0
    if not passages:
        print("No passages: the index is empty. Run `rag ingest` first.")
    for rank, p in enumerate(passages, 1):
        print(f"{rank}. score {p.score:.3f}  {_display(p.source)}  chars {p.start}-{p.end}")
        print(textwrap.indent(textwrap.fill(p.text, width=96), "   "))
        print()
    return 0


def _documents(settings: "Settings") -> int:
    _, store = _open(settings)
    sources = store.sources()
    for source, count in sorted(sources.items()):
        print(f"{count:6d}  {_display(source)}")
    print(f"{len(sources)} documents, {sum(sources.values())} chunks")
    return 0


def _remove(args: argparse.Namespace, settings: "Settings") -> int:
    _, store = _open(settings)
    indexed = store.sources()
    targets = {str(p.resolve()) for p in args.paths}
    missing = sorted(targets - indexed.keys())
    if missing:
        raise RagError(f"not in the index: {', '.join(_display(m) for m in missing)}")
    deleted = store.delete_sources(sorted(targets))
    print(f"Removed {len(targets)} documents ({deleted} chunks)")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.config:
        os.environ["RAG_CONFIG"] = args.config
    from rag.settings import load_settings

    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    if args.command == "ingest":
        return _ingest(args, settings)
    if args.command == "search":
        return _search(args, settings)
    if args.command == "documents":
        return _documents(settings)
    return _remove(args, settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Every failure ends as one line on stderr and a non-zero exit status."""
    try:
        return run(argv)
    except RagError as exc:
        print(f"rag: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("RAG_DEBUG"):
            raise
        print(
            f"rag: internal error: {type(exc).__name__}: {exc} (RAG_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
