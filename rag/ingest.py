"""Incremental ingestion: make the index mirror the given files and folders.

New and changed files are (re-)embedded, unchanged files are skipped without touching
the model, and files that disappeared from an ingested folder lose their chunks.
A file that fails to load keeps whatever it had in the index before.
"""

import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout
from langchain_core.documents import Document
from langchain_core.indexing import index

from rag.documents import DocumentError, is_supported, read_chunks
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.formats.extracted import PAGE_PROGRESS
from rag.progress import Listener, Progress
from rag.settings import Settings
from rag.store import DocumentStore, chunk_id, drop_generation, drop_leftovers

SWAP_GRACE_S = 1.0


@dataclass(frozen=True)
class FileProblem:
    path: str
    reason: str


@dataclass
class IngestReport:
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[FileProblem] = field(default_factory=list)
    warnings: list[FileProblem] = field(default_factory=list)  # indexed, with a caveat
    ignored: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_skipped: int = 0
    chunks_deleted: int = 0
    chunks_embedded: int = 0
    seconds: float = 0.0


@dataclass
class _Plan:
    files: list[Path] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def plan(paths: Sequence[Path]) -> _Plan:
    """Expand folders into files; a missing path stops everything before any change."""
    result = _Plan()
    seen: set[Path] = set()
    for raw in paths:
        if not raw.exists():
            raise RagError(f"no such file or folder: {raw}")
        path = raw.resolve()
        if path.is_dir():
            result.folders.append(path)
            candidates = sorted(p for p in path.rglob("*") if p.is_file())
            for file in candidates:
                if _is_hidden(file, path):
                    continue
                if not is_supported(file):
                    result.ignored.append(str(file))
                elif file not in seen:
                    seen.add(file)
                    result.files.append(file)
        elif path not in seen:  # named explicitly: an unsupported type is an error later
            seen.add(path)
            result.files.append(path)
    return result


def _chunk_ids(file: Path, settings: Settings, notes: list[str] | None = None) -> list[str]:
    """The ids a file's chunks would have; the chunks themselves are not kept, so a
    folder or a file of any size is checked in about one window of memory."""
    return [chunk_id(chunk) for chunk in read_chunks(file, settings.chunking, notes=notes)]


def _all_recorded(store: DocumentStore, ids: list[str], batch: int = 10_000) -> bool:
    # SQLite takes at most 32,766 parameters in one query.
    return all(all(store.records.exists(ids[i : i + batch])) for i in range(0, len(ids), batch))


def ingest(
    paths: Sequence[Path],
    store: DocumentStore,
    embeddings: Embedder,
    settings: Settings,
    *,
    progress: bool | None = None,
    listener: Listener | None = None,
) -> IngestReport:
    store.usable()  # never writes into an index built by other settings
    with one_writer(settings.data_dir):
        drop_leftovers(settings)
        return _ingest(paths, store, embeddings, settings, progress, listener)


def rebuild(
    paths: Sequence[Path],
    store: DocumentStore,
    embeddings: Embedder,
    settings: Settings,
    *,
    progress: bool | None = None,
    listener: Listener | None = None,
) -> IngestReport:
    """Build a new index from `paths` beside the one in use, then switch to it.

    The old index keeps answering (this process's and every other's `store` follows
    the switch) until the new one is complete. A failure, a full disk or Ctrl-C drops
    the new one and leaves the old in use; a kill -9 leaves it for the next ingest to
    drop. Either way the index in use is whole: the old one, or the new one.
    """
    with one_writer(settings.data_dir):
        drop_leftovers(settings)
        fresh = store.fresh()
        try:
            report = _ingest(paths, fresh, embeddings, settings, progress, listener)
        except BaseException as exc:
            with suppress(Exception):  # else the next ingest drops it
                fresh.keywords.close()  # its files' space freed for the rest of the drop
                drop_generation(settings, fresh.generation.name)
            if isinstance(exc, RagError | KeyboardInterrupt):
                raise
            reason = next(iter(str(exc).splitlines()), "") or type(exc).__name__
            raise RagError(
                f"the rebuild failed ({reason}); the index in use is unchanged"
            ) from None
        old = store.switch_to(fresh)
        time.sleep(SWAP_GRACE_S)  # a question begun on the old index finishes there
        old.vectors.keywords.close()
        drop_generation(settings, old.name)
    return report


@contextmanager
def one_writer(data_dir: Path) -> Iterator[None]:
    """One ingest at a time per data folder: a second (another `rag ingest`, an upload
    beside it) waits for the first instead of interleaving their writes and deletions,
    which LangChain's record manager does not guard against. A lock per machine: with
    a Chroma server, ingests from two machines are not ordered."""
    lock = FileLock(data_dir / "ingest.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"rag: another ingest is writing the index in {data_dir}; waiting", file=sys.stderr)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _ingest(
    paths: Sequence[Path],
    store: DocumentStore,
    embeddings: Embedder,
    settings: Settings,
    progress: bool | None,
    listener: Listener | None,
) -> IngestReport:
    started = time.perf_counter()
    todo = plan(paths)
    report = IngestReport(ignored=todo.ignored)
    before = store.sources()
    embedded_before = embeddings.documents_embedded

    with Progress(enabled=progress, listener=listener) as bar, _pages_shown(bar):
        reading = bar.task("Reading", total=len(todo.files), show_from=50)
        changed: list[Path] = []
        pending = 0
        for file in todo.files:
            source = str(file)
            notes: list[str] = []
            try:
                ids = _chunk_ids(file, settings, notes)
            except DocumentError as exc:
                report.failed.append(FileProblem(source, str(exc)))
                continue
            finally:
                reading.advance()
            if source not in before:
                report.new.append(source)
            elif len(ids) == before[source] and _all_recorded(store, ids):
                report.unchanged.append(source)
                continue  # untouched: scoped cleanup only visits sources it is given
            else:
                report.updated.append(source)
            report.warnings += [FileProblem(source, note) for note in notes]
            changed.append(file)
            pending += len(ids)

        def chunks() -> Iterator[Document]:
            """Read again, a window at a time, as `index` pulls batches."""
            for file in changed:
                try:
                    yield from read_chunks(file, settings.chunking)
                except DocumentError as exc:  # changed since it was checked
                    report.failed.append(FileProblem(str(file), str(exc)))

        batch_size = settings.store.index_batch_size
        embedding = bar.task("Embedding", total=pending, unit="chunks", show_from=256)
        result = index(
            _reporting(chunks(), batch_size, embedding.set_completed),
            store.records,
            store.vectors,
            batch_size=batch_size,
            cleanup="scoped_full",
            source_id_key="source",
            key_encoder=chunk_id,
        )
        embedding.set_completed(pending)

    report.removed = sorted(
        source
        for source in before
        if not Path(source).exists() and any(Path(source).is_relative_to(f) for f in todo.folders)
    )
    report.chunks_added = result["num_added"]
    report.chunks_skipped = result["num_skipped"] + sum(before[s] for s in report.unchanged)
    report.chunks_deleted = result["num_deleted"] + store.delete_sources(report.removed)
    report.chunks_embedded = embeddings.documents_embedded - embedded_before
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _pages_shown(bar: Progress) -> Iterator[None]:
    """A bar per file whose pages are OCR'd: a 100-page scan takes minutes."""
    tasks: dict[str, Any] = {}

    def update(name: str, done: int, total: int) -> None:
        if name not in tasks:
            tasks[name] = bar.task(f"OCR {name}", total=total, unit="pages", show_from=2)
        tasks[name].set_completed(done)

    token = PAGE_PROGRESS.set(update)
    try:
        yield
    finally:
        PAGE_PROGRESS.reset(token)


def _reporting(
    chunks: Iterable[Document], batch_size: int, set_completed: Callable[[int], None]
) -> Iterator[Document]:
    """Yield chunks to `index`, which pulls a whole batch before it embeds one, so
    pulling the first chunk of a batch means every earlier batch is stored."""
    for position, chunk in enumerate(chunks):
        if position % batch_size == 0:
            set_completed(position)
        yield chunk
