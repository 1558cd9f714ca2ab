"""The `rag` command line: ingest documents, search them, ask questions, list and remove."""

import argparse
import json
import os
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from rag.benchmarks import OPT_IN as BENCH_OPT_IN
from rag.benchmarks import SECTIONS as BENCH_SECTIONS
from rag.chats import commands as chat_commands
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.answer import Answer, Turn
    from rag.ingest import IngestReport
    from rag.pipeline import Pipeline
    from rag.settings import Settings

EXAMPLES = """\
examples:
  rag ingest                       index ./corpus (only new or changed files are embedded)
  rag ask "What did the Meta spokesperson say?"
  rag ask --json - < questions.txt one JSON answer per line, model loaded once
  rag ingest notes/ scan.pdf       index a folder and a file (text, PDF, scans, Office, CSV)
  rag search "what did the Meta spokesperson say?" -k 3
  rag search "behemoth delay" --json | jq '.results[0]'
  rag documents                    list indexed documents with their chunk counts
  rag ui --port 8080               the chat and the API on http://127.0.0.1:8080
  rag chroma-server                a shared store; then RAG_CHROMA_URL=http://127.0.0.1:8000
  rag chats list                   the conversations saved by the browser chat
  rag chats export 3f2a            one of them as Markdown, cited sentences as footnotes
  rag feedback export --eval-yaml mine.yaml  answers rated down, as draft test questions

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
        help="index text, PDF (scans by OCR), image, HTML, DOCX, XLSX, PPTX and CSV files; "
        "re-running embeds only what changed",
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
    ingest.add_argument(
        "--rebuild",
        action="store_true",
        help="build a new index from PATHs and the documents uploaded in the browser "
        "beside the one in use, which answers until the new one is complete, then switch "
        "to it; the way out of a damaged index or one built by other settings",
    )
    ingest.add_argument(
        "--watch",
        action="store_true",
        help="then keep watching the folders: each burst of changes (new, changed or "
        "deleted files) is ingested the same way, with its report; Ctrl-C stops",
    )

    search = commands.add_parser(
        "search",
        help="show the passages most similar to a query",
        description="Retrieve the top-k chunks for a query, with cosine similarity score, "
        "source file and exact character offsets.",
    )
    search.add_argument("query", help="the question or keywords")
    search.add_argument("-k", type=int, metavar="N", help="number of passages (default: setting)")
    search.add_argument("--json", action="store_true", help="print one JSON object")

    ask = commands.add_parser(
        "ask",
        help="answer a question from the documents, with cited passages",
        description="Answer from the indexed documents. Every [n] in the answer cites a "
        "passage that was checked to support its sentence; when the documents don't "
        "hold the answer, it says so. With --json, QUESTION may be '-' to read one "
        "question per line from stdin (plain text, or a JSON object with 'question' and "
        "optional 'history': [{'question', 'answer'}]) and write one JSON object per line.",
    )
    ask.add_argument("question", help="the question, or '-' with --json to read stdin")
    ask.add_argument("-k", type=int, metavar="N", help="passages to retrieve (default: setting)")
    ask.add_argument("--json", action="store_true", help="print one JSON object per question")
    ask.add_argument(
        "--doc",
        action="append",
        default=[],
        metavar="NAME",
        help="answer only from this document (file name or path; repeatable)",
    )
    ask.add_argument(
        "--route",
        choices=["auto", "passages", "document"],
        help="read the top passages, or whole documents (default: answer.route, auto: "
        "summaries, lists and counts read whole documents)",
    )

    bench = commands.add_parser(
        "bench",
        help="measure speed and memory: ingestion, retrieval up to 1M chunks, model, UI start",
        description="Benchmark on this machine, printing a table and writing JSON: "
        "ingestion throughput against raw SentenceTransformer.encode on the same chunks; "
        "retrieval latency (p50, p95) at 1k, 10k and 100k synthetic chunks, no model; time "
        "to first token and tokens/s through the chain against llama.cpp called directly; "
        "answer latency with the prompt cache warm and cold; model load time; and the cold "
        "start and peak memory of a `rag ui` process. Medians over --repeat runs; each "
        "ratio is taken within one run. Needs the index (`rag ingest`) for the model "
        "sections. The first run builds the 111k-chunk retrieval stores (about 3 minutes "
        "on 2 cores) in <data_dir>/bench and the 1M-chunk one in <data_dir>/bench-1m "
        "(resumable, most of an hour); later runs reuse them.",
    )
    bench.add_argument("--repeat", type=int, default=3, metavar="N", help="runs per figure")
    bench.add_argument("--question", default=None, help="question to time (default: example)")
    bench.add_argument(
        "--only",
        metavar="SECTION[,...]",
        help="run only these: " + ", ".join(BENCH_SECTIONS) + " (threads: only when named)",
    )
    bench.add_argument(
        "--out", type=Path, default=None, help="JSON output (default: <data_dir>/bench.json)"
    )

    evaluate = commands.add_parser(
        "eval",
        help="run a question set through the pipeline and measure it",
        description="Answer every question of a question set with the real pipeline and "
        "measure retrieval (hit@k, MRR, recall@k against gold quotes), answers (required-fact "
        "coverage, token F1), refusals, citations (precision, recall), groundedness and "
        "latency. Writes report.json and report.html per configuration. Each --set is one "
        "configuration (comma-separated key=value pairs); several are run and compared "
        "side by side.",
        epilog="example: rag eval --set retrieval.k=3 --set retrieval.k=5,chunking.size=500",
    )
    evaluate.add_argument(
        "--questions",
        type=Path,
        default=Path("eval/article.yaml"),
        metavar="FILE",
        help="question set (default: eval/article.yaml)",
    )
    evaluate.add_argument("--out", type=Path, metavar="DIR", help="default: <data_dir>/eval/<set>")
    evaluate.add_argument(
        "--set",
        dest="configs",
        action="append",
        default=[],
        metavar="KEY=VALUE[,...]",
        help="a configuration to evaluate; repeat to compare several",
    )
    evaluate.add_argument(
        "--check", action="store_true", help="exit 1 if a metric misses its threshold"
    )
    evaluate.add_argument(
        "--only", metavar="ID|TAG[,...]", help="evaluate only these question ids or tags"
    )
    evaluate.add_argument(
        "--retrieval-only",
        action="store_true",
        help="measure retrieval alone (no model; seconds instead of minutes)",
    )
    evaluate.add_argument(
        "--thresholds",
        type=Path,
        metavar="FILE",
        help="default: <questions>.thresholds.toml beside the question set",
    )

    ui = commands.add_parser(
        "ui",
        help="serve the browser chat and the OpenAI-compatible API (http://127.0.0.1:7860)",
        description="Serve the chat, documents, evaluation and settings tabs in the "
        "browser, and on the same port an OpenAI-compatible API: /v1/chat/completions, "
        "/v1/models, /v1/search, schema at /openapi.json. It binds loopback unless --host "
        "(or ui.host) says otherwise; when it is reachable by others give --auth for the "
        "browser and set RAG_API_KEY for the API. Prints the URLs when ready; Ctrl-C "
        "stops it.",
    )
    ui.add_argument("--host", help="interface to bind (default: ui.host, 127.0.0.1)")
    ui.add_argument("--port", type=int, help="port (default: ui.port, 7860)")
    ui.add_argument(
        "--auth",
        action="append",
        metavar="USER:PASSWORD",
        help="require a login; repeat for several users, each with their own saved chats "
        "(default: ui.auth, comma-separated)",
    )
    ui.add_argument(
        "--watch",
        action="append",
        type=Path,
        default=[],
        metavar="FOLDER",
        help="keep the index in step with this folder beside the chat (repeatable); "
        "each burst of changes is ingested and reported on stderr",
    )

    chroma = commands.add_parser(
        "chroma-server",
        help="run a Chroma server for RAG_CHROMA_URL (http://127.0.0.1:8000)",
        description="Start Chroma's own server (`chroma run`) in the foreground. Point "
        "every rag command, on this machine or others, at it with "
        "RAG_CHROMA_URL=http://HOST:PORT (or chroma_url in rag.toml); the vectors then live "
        "in the server's folder instead of <data_dir>/chroma. Chroma's server has no "
        "login: keep it on loopback or a private network. Ctrl-C stops it.",
    )
    chroma.add_argument(
        "--path", type=Path, metavar="DIR", help="its data (default: <data_dir>/chroma-server)"
    )
    chroma.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    chroma.add_argument("--port", type=int, default=8000, help="port (default: 8000)")

    commands.add_parser("documents", help="list indexed documents and their chunk counts")
    chat_commands.add_parsers(commands)

    remove = commands.add_parser("remove", help="drop documents from the index (files stay)")
    remove.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    return parser


def _open(settings: "Settings") -> "Pipeline":
    from rag.pipeline import Pipeline

    return Pipeline.from_settings(settings)


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
    for problem in report.warnings:
        print(f"rag: warning: {_display(problem.path)}: {problem.reason}", file=sys.stderr)
    for problem in report.failed:
        print(f"rag: error: {_display(problem.path)}: {problem.reason}", file=sys.stderr)


def _ingest(args: argparse.Namespace, settings: "Settings") -> int:
    from rag.ingest import ingest, rebuild
    from rag.watch import watched_folders

    paths = list(args.paths)
    if args.watch:
        watched_folders(paths)  # before anything is removed or written
    if args.rebuild:
        if settings.uploads_dir.is_dir() and settings.uploads_dir not in paths:
            paths.append(settings.uploads_dir)
        pipeline = _open_for_rebuild(settings)
        report = rebuild(
            paths, pipeline.store, pipeline.embeddings, settings, progress=args.progress
        )
        print(f"Switched to the new index in {_where(settings)}", file=sys.stderr)
    else:
        pipeline = _open(settings)
        if args.watch:
            return _watch(args, paths, pipeline)
        report = ingest(
            paths, pipeline.store, pipeline.embeddings, settings, progress=args.progress
        )
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        for problem in report.failed:
            print(f"rag: error: {_display(problem.path)}: {problem.reason}", file=sys.stderr)
    else:
        _print_report(report)
    return 1 if report.failed else 0


def _where(settings: "Settings") -> str:
    return str(settings.chroma_url or _display(str(settings.data_dir)))


def _open_for_rebuild(settings: "Settings") -> "Pipeline":
    """The index in use, which answers until the new one is complete; one built by
    other settings too (the rebuild is its mend), and one too damaged to open is
    removed first, as it could not answer anyway."""
    from rag.pipeline import Pipeline
    from rag.store import remove_index

    try:
        pipeline = Pipeline.from_settings(settings, on_mismatch="record")
    except RagError:
        remove_index(settings)
        print(f"Removed the index in {_where(settings)}: it could not be opened", file=sys.stderr)
        pipeline = Pipeline.from_settings(settings)
    meanwhile = "; the one in use answers until it is done" if pipeline.store.sources() else ""
    print(f"Building a new index in {_where(settings)}{meanwhile}", file=sys.stderr)
    return pipeline


def _watch(args: argparse.Namespace, paths: list[Path], pipeline: "Pipeline") -> int:
    """Ingest, then keep ingesting each burst of changes; a failed file is reported
    and the watch goes on, as the next change may mend it."""
    from rag.watch import watch, watched_folders

    folders = watched_folders(paths)
    reports = watch(
        folders, pipeline.store, pipeline.embeddings, pipeline.settings, progress=args.progress
    )
    try:
        _show_reports(args, folders, reports)
    except KeyboardInterrupt:  # Ctrl-C during an ingest ends the watch as well as while idle
        print("Stopped watching", file=sys.stderr)
    return 0


def _show_reports(args: argparse.Namespace, folders: list[Path], reports: Iterator) -> None:
    for n, report in enumerate(reports):
        if args.json:
            print(json.dumps(asdict(report)))
        else:
            print(time.strftime("%H:%M:%S"), end=" ")
            _print_report(report)
        sys.stdout.flush()
        if n == 0:
            where = ", ".join(_display(str(f)) for f in folders)
            print(f"Watching {where} for changes; Ctrl-C stops", file=sys.stderr, flush=True)


def _k(args: argparse.Namespace, settings: "Settings") -> int:
    k = args.k if args.k is not None else settings.retrieval.k
    if k < 1:
        raise RagError("-k must be at least 1")
    return k


def _search(args: argparse.Namespace, settings: "Settings") -> int:
    from rag.retrieval import Passage, clean_query

    query = clean_query(args.query, settings.answer.max_question_chars)
    k = _k(args, settings)
    passages = [Passage.from_document(d) for d in _open(settings).retriever(k).invoke(query)]
    if args.json:
        results = [{"rank": rank, **p.model_dump()} for rank, p in enumerate(passages, 1)]
        print(
            json.dumps({"query": query, "k": k, "results": results}, ensure_ascii=False, indent=2)
        )
        return 0
    if not passages:
        print("No passages: the index is empty. Run `rag ingest` first.")
    for rank, p in enumerate(passages, 1):
        place = _display(p.source) + p.page_label
        print(f"{rank}. score {p.score:.3f}  {place}  chars {p.start}-{p.end}")
        print(textwrap.indent(textwrap.fill(p.text, width=96), "   "))
        print()
    return 0


def _print_answer(answer: "Answer") -> None:
    print(answer.answer)
    if answer.refused:
        print(f"\n(refused: {answer.refusal_reason})")
    elif answer.outcome == "partial":
        print(f"\n(partly answered: {' '.join(answer.unanswered)})")
    if answer.answerability is not None:
        print(f"(answerability {answer.answerability:.2f})")
    if answer.route.name != "passages":
        read = ", ".join(_display(s) for s in answer.route.documents)
        how = (
            f"in {answer.route.sections} sections" if answer.route.name == "map_reduce" else "whole"
        )
        print(f"(read {how}: {read}; {answer.route.reason})")
    if answer.citations:
        print("\nSources:")
    for c in answer.citations:
        print(f"[{c.n}] {_display(c.source)}{c.page_label}, chars {c.start}-{c.end}")
        print(textwrap.indent(textwrap.fill(c.text, width=92), "    "))
    for fix in answer.fixes:
        print(f"(answer check, sentence {fix.sentence + 1}: {fix.describe()})")


def _read_questions(stream: TextIO) -> Iterator[tuple[str, list["Turn"]]]:
    from rag.answer import Turn

    for line in stream:
        text = line.rstrip("\n")
        if text.lstrip().startswith("{"):
            try:
                item = json.loads(text)
                history = [Turn.model_validate(t) for t in item.get("history", [])]
                yield str(item["question"]), history
            except (ValueError, KeyError, TypeError) as exc:
                raise RagError(f"bad JSON question line: {exc}") from None
        else:
            yield text, []


def _ask(args: argparse.Namespace, settings: "Settings") -> int:
    settings = settings.model_copy(
        update={"retrieval": settings.retrieval.model_copy(update={"k": _k(args, settings)})}
    )
    if args.question == "-":
        if not args.json:
            raise RagError("reading questions from stdin needs --json")
        return _ask_many(settings, {"documents": args.doc, "route": args.route})
    from rag.retrieval import clean_query

    question = clean_query(args.question, settings.answer.max_question_chars)  # before loading
    pipeline = _open(settings)
    _require_documents(pipeline)
    scope = {"documents": args.doc, "route": args.route}
    if args.doc:  # a wrong name fails before the model loads
        from rag.answering.whole import resolve_documents

        resolve_documents(pipeline.store, args.doc)
    pipeline.warm()  # restores the prompt's saved start: the first answer ~10 s sooner
    if args.json:
        answer = pipeline.chain.invoke(question, **scope)
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    _print_answer(_stream_to_terminal(pipeline, question, **scope))
    return 0


def _stream_to_terminal(pipeline: "Pipeline", question: str, **scope: Any) -> "Answer":
    """Show the model's words as they come (on stderr, erased after), then the answer."""
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from rag.answer import Answer
    from rag.events import Delta, Progress, Retry

    draft = Text("Thinking...", style="dim")
    with Live(draft, console=Console(stderr=True), transient=True, refresh_per_second=8):
        for event in pipeline.chain.stream(question, **scope):
            if isinstance(event, Answer):
                return event
            if isinstance(event, Progress):
                draft.plain = f"Reading the documents: {event.done} of {event.total} {event.what}"
                continue
            if isinstance(event, Retry) or draft.plain.startswith(("Thinking", "Reading")):
                draft.plain = ""
            if isinstance(event, Delta):
                draft.append(event.text)
    raise RagError("the chain ended without an answer")


def _require_documents(pipeline: "Pipeline") -> None:
    if not pipeline.store.sources():
        raise RagError(
            "the index is empty, so there is nothing to answer from: add documents with "
            "`rag ingest PATH` (or in the browser's Documents tab)"
        )


def _ask_many(settings: "Settings", scope: dict[str, Any]) -> int:
    """One JSON line per input line; a bad question is reported in its line, not fatal."""
    pipeline = _open(settings)
    _require_documents(pipeline)
    if scope["documents"]:  # a wrong name fails before the model loads
        from rag.answering.whole import resolve_documents

        resolve_documents(pipeline.store, scope["documents"])
    pipeline.warm()
    failures = 0
    for question, history in _read_questions(sys.stdin):
        try:
            result = pipeline.chain.invoke(question, history, **scope).to_json()
        except RagError as exc:
            failures += 1
            result = {"question": question, "error": str(exc)}
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def _bench(args: argparse.Namespace, settings: "Settings") -> int:
    from rag.benchmarks.suite import EXAMPLE_QUESTION, print_results, run_bench

    if args.repeat < 1:
        raise RagError("--repeat must be at least 1")
    only = (
        {s.strip() for s in args.only.split(",")}
        if args.only
        else set(BENCH_SECTIONS) - BENCH_OPT_IN
    )
    if unknown := only - set(BENCH_SECTIONS):
        known = ", ".join(BENCH_SECTIONS)
        raise RagError(f"no bench section {', '.join(sorted(unknown))} (known: {known})")
    pipeline = _open(settings)
    if only - {"ingestion", "retrieval"}:
        _require_documents(pipeline)
    question = args.question or EXAMPLE_QUESTION
    results = run_bench(pipeline, repeat=args.repeat, question=question, only=only)
    print_results(results, args.out or settings.data_dir / "bench.json")
    return 0


def _overrides(config: str) -> dict[str, Any]:
    """ "retrieval.k=5,chunking.size=500" -> {"retrieval": {"k": "5"}, "chunking": {...}}."""
    nested: dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in config.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise RagError(f"--set wants KEY=VALUE, got '{pair}'")
        *sections, leaf = key.strip().split(".")
        target = nested
        for section in sections:
            target = target.setdefault(section, {})
        target[leaf] = value.strip()
    return nested


def _eval(args: argparse.Namespace, settings: "Settings") -> int:
    from rich.console import Console

    from rag.evaluation.questions import keep_only, load_question_set
    from rag.evaluation.report import (
        calibration_line,
        check,
        load_thresholds,
        print_table,
        write_html,
        write_json,
    )
    from rag.evaluation.runner import run_eval
    from rag.settings import load_settings

    question_set = load_question_set(args.questions)
    if args.only:
        keep_only(question_set, args.only)
    thresholds_file = args.thresholds or args.questions.with_suffix(".thresholds.toml")
    thresholds = load_thresholds(thresholds_file) if args.check else None
    out = args.out or settings.data_dir / "eval" / args.questions.stem
    base = {"data_dir": settings.data_dir}
    configs = [(c, _overrides(c)) for c in args.configs] or [("default", {})]
    # Validate every configuration before the first (slow) run starts.
    loaded = [(name, overrides, load_settings(**base, **overrides)) for name, overrides in configs]
    reports = []
    console = Console(stderr=True)
    for name, overrides, config_settings in loaded:
        report = run_eval(
            question_set,
            config_settings,
            name=name,
            overrides=overrides,
            questions_file=args.questions,
            work_dir=out / "indexes",
            retrieval_only=args.retrieval_only,
        )
        folder = out / name.replace("/", "_")
        write_json(report, folder)
        console.print(f"{name}: {write_html(report, folder)}")
        reports.append(report)
    print_table(reports)
    for report in reports:
        if line := calibration_line(report):
            print(f"{report.name}: {line}")
    if thresholds is None:
        return 0
    failed = 0
    for report in reports:
        for line in check(report, thresholds):
            print(f"rag: eval check failed ({report.name}): {line}", file=sys.stderr)
            failed += 1
    if not failed:
        print(f"All metrics meet {thresholds_file}")
    return 1 if failed else 0


def _credentials(values: Sequence[str]) -> list[tuple[str, str]]:
    logins = []
    for value in (v.strip() for entry in values for v in entry.split(",")):
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise RagError("--auth wants USER:PASSWORD, both non-empty")
        logins.append((user, password))
    if len({user for user, _ in logins}) < len(logins):
        raise RagError("--auth names a user twice")
    return logins


def _ui(args: argparse.Namespace, settings: "Settings") -> int:
    update = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = settings.model_copy(update={"ui": settings.ui.model_copy(update=update)})
    secret = args.auth or ([settings.ui.auth.get_secret_value()] if settings.ui.auth else [])
    auth = _credentials(secret) if secret else None
    try:
        import ui.server
    except ImportError as exc:
        raise RagError(f"the browser chat is not installed ({exc}); run `make install`") from None
    from rag.pipeline import Pipeline
    from rag.watch import watched_folders

    folders = watched_folders(args.watch)
    pipeline = Pipeline.from_settings(settings, on_mismatch="record")  # a banner, 503s
    if pipeline.store.problem:
        print(f"rag ui: {pipeline.store.problem}", file=sys.stderr)
    elif not pipeline.store.sources():
        print("rag ui: the index is empty; add documents in the Documents tab", file=sys.stderr)
    if folders and not pipeline.store.problem:
        threading.Thread(target=_watch_beside, args=(folders, pipeline), daemon=True).start()
    try:
        ui.server.serve(pipeline, auth=auth)
    except OSError:
        where = f"{settings.ui.host}:{settings.ui.port}"
        raise RagError(f"cannot serve on {where}: in use or not allowed; try --port") from None
    return 0


def _watch_beside(folders: list[Path], pipeline: "Pipeline") -> None:
    """`rag ui --watch`: each burst's report as one line on stderr; an error ends the
    watch (said in one line), never the chat."""
    from rag.watch import watch

    try:
        for report in watch(folders, pipeline.store, pipeline.embeddings, pipeline.settings):
            print(
                f"rag ui: watched folders: {len(report.new)} added, {len(report.updated)} "
                f"updated, {len(report.removed)} deleted, {len(report.failed)} failed",
                file=sys.stderr,
                flush=True,
            )
    except RagError as exc:
        print(f"rag ui: stopped watching: {exc}", file=sys.stderr, flush=True)


def _chroma_server(args: argparse.Namespace, settings: "Settings") -> int:
    from rag import chroma_server

    if not 0 < args.port < 65536:
        raise RagError("--port must be between 1 and 65535")
    chroma_server.serve(args.path or settings.data_dir / "chroma-server", args.host, args.port)
    return 0


def _documents(settings: "Settings") -> int:
    store = _open(settings).store
    sources = store.sources()
    for source, count in sorted(sources.items()):
        print(f"{count:6d}  {_display(source)}")
    print(f"{len(sources)} documents, {sum(sources.values())} chunks")
    return 0


def _remove(args: argparse.Namespace, settings: "Settings") -> int:
    store = _open(settings).store
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
    if args.command == "ask":
        return _ask(args, settings)
    if args.command == "bench":
        return _bench(args, settings)
    if args.command == "eval":
        return _eval(args, settings)
    if args.command == "chroma-server":
        return _chroma_server(args, settings)
    if args.command == "documents":
        return _documents(settings)
    if args.command == "ui":
        return _ui(args, settings)
    if args.command == "chats":
        return chat_commands.chats_command(args, settings)
    if args.command == "feedback":
        return chat_commands.feedback_command(args, settings)
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
