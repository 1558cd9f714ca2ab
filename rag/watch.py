"""Keep the index in step with folders: an ingest first, then one more after each burst
of changes (watchfiles, debounced), with the same incremental rules and report."""

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import watchfiles

from rag.documents import is_supported
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.ingest import IngestReport, ingest
from rag.settings import Settings
from rag.store import DocumentStore

DEBOUNCE_MS = 1000  # a burst (a copy of many files, an editor's save) is one ingest
IDLE_TICK_MS = 250  # how often an idle watcher wakes: to start, and to see `stop`


def watched_folders(paths: Sequence[Path]) -> list[Path]:
    """The folders to watch; a file, or a path that is missing, is an error."""
    for path in paths:
        if not path.is_dir():
            raise RagError(f"--watch takes folders: {path} is not one")
    return [p.resolve() for p in paths]


def _relevant(change: watchfiles.Change, path: str) -> bool:
    return is_supported(Path(path)) and not Path(path).name.startswith(".")


def watch(
    folders: Sequence[Path],
    store: DocumentStore,
    embeddings: Embedder,
    settings: Settings,
    *,
    progress: bool | None = None,
    stop: threading.Event | None = None,
    debounce_ms: int = DEBOUNCE_MS,
) -> Iterator[IngestReport]:
    """The report of an ingest of `folders`, then of another after each burst of
    changes to a supported file, until `stop` is set or Ctrl-C. The first ingest runs
    once the watcher is up (its first idle tick), so no change slips in between."""
    first = True
    for changes in watchfiles.watch(
        *folders,
        watch_filter=_relevant,
        debounce=debounce_ms,
        stop_event=stop,
        raise_interrupt=False,
        yield_on_timeout=True,
        rust_timeout=IDLE_TICK_MS,
    ):
        if changes or first:
            shown = progress if first else False  # bursts are small; the first may not be
            yield ingest(folders, store, embeddings, settings, progress=shown)
            first = False
