"""The keyword index: BM25 over each chunk's terms, a tantivy index per collection.

Chroma 1.5 keeps sparse BM25 vectors only in Chroma Cloud: a local collection refuses the
schema ("Sparse vector indexing is not enabled in local") and `Collection.search` raises
"Search is not implemented for Local Chroma". SQLite FTS5 was persistent and per chunk,
but it scores every row holding a query term: 990 ms a question at 1M chunks. tantivy
skips the documents that cannot reach the top n (block-max WAND): 7 ms there. Chunks are
indexed as their `terms` (stemmed, no stopwords), the same terms a query is cut into, so
tantivy's tokenizer only splits on the spaces between them.

Every change is committed at once, so another process (a server beside `rag ingest`)
sees it on its next question; tantivy allows one writer per index at a time, taken per
change and released after it.
"""

import shutil
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import tantivy

from rag.errors import RagError
from rag.support import terms

_WRITER_HEAP = 64_000_000
_WRITER_WAIT_S = 60.0  # another process's change in progress


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("terms", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    builder.add_text_field("source", tokenizer_name="raw", index_option="basic")
    return builder.build()


class KeywordTable:
    """One index's chunks (a Chroma collection's): a tantivy document per chunk id, with
    its terms and its source, in <folder>/<name>."""

    def __init__(self, folder: Path, name: str) -> None:
        self.name = name
        self._path = folder / name
        self._path.mkdir(parents=True, exist_ok=True)
        self._schema = _schema()
        self._index = tantivy.Index(self._schema, path=str(self._path), reuse=True)
        self._lock = threading.Lock()

    def add(self, ids: Sequence[str], texts: Sequence[str], sources: Sequence[str]) -> None:
        """Index these chunks, replacing any already held under the same ids."""
        with self._writer() as writer:
            _delete(writer, ids)
            for chunk_id, text, source in zip(ids, texts, sources, strict=True):
                writer.add_document(
                    tantivy.Document(id=chunk_id, terms=" ".join(terms(text)), source=source)
                )

    def delete(self, ids: Sequence[str]) -> None:
        with self._writer() as writer:
            _delete(writer, ids)

    def clear(self) -> None:
        with self._writer() as writer:
            writer.delete_all_documents()

    def count(self) -> int:
        with self._lock:
            return self._searcher().num_docs

    def search(self, query: str, n: int, sources: Sequence[str] = ()) -> list[str]:
        """Ids of the best `n` chunks by BM25 that hold a query term (k1 1.2, b 0.75);
        ties in the order they were indexed. `sources`: only chunks of these documents."""
        wanted = dict.fromkeys(terms(query))
        if not wanted or n <= 0:
            return []
        should = tantivy.Occur.Should
        query_terms = [(should, tantivy.Query.term_query(self._schema, "terms", t)) for t in wanted]
        found: tantivy.Query = tantivy.Query.boolean_query(query_terms)
        if sources:
            scope = tantivy.Query.term_set_query(self._schema, "source", list(sources))
            must = tantivy.Occur.Must
            found = tantivy.Query.boolean_query(
                [(must, found), (must, tantivy.Query.const_score_query(scope, 0.0))]
            )
        with self._lock:
            searcher = self._searcher()
            hits = searcher.search(found, n, count=False).hits
            return [searcher.doc(address)["id"][0] for _, address in hits]

    def _searcher(self) -> tantivy.Searcher:
        # With another process's change, committed a moment ago; an index a rebuild has
        # just replaced and removed keeps serving what it last read.
        with suppress(ValueError):
            self._index.reload()
        return self._index.searcher()

    def close(self) -> None:
        """Let go of the index's files, which stay mapped while it is open: removing
        them then frees their space at once. A closed table is empty."""
        with self._lock:
            self._index = tantivy.Index(self._schema)

    @contextmanager
    def _writer(self) -> Iterator[tantivy.IndexWriter]:
        """A writer for one change, committed and released after it, so that the next
        process to change this index can take it."""
        with self._lock:
            writer = self._take_writer()
            try:
                yield writer
                writer.commit()
            except ValueError as exc:  # what tantivy raises for its I/O errors
                writer.rollback()
                raise _write_error(self._path, exc) from None
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            self._index.reload()  # this process sees its own change at once

    def _take_writer(self) -> tantivy.IndexWriter:
        deadline = time.monotonic() + _WRITER_WAIT_S
        while True:
            try:
                return self._index.writer(_WRITER_HEAP, num_threads=1)
            except ValueError as exc:
                if "LockBusy" not in str(exc):
                    raise _write_error(self._path, exc) from None
                if time.monotonic() > deadline:
                    raise RagError(
                        f"another process has been changing the keyword index {self._path} "
                        f"for {_WRITER_WAIT_S:.0f} s; try again when it is done"
                    ) from None
                time.sleep(0.05)


def _delete(writer: tantivy.IndexWriter, ids: Sequence[str]) -> None:
    for chunk_id in ids:
        writer.delete_documents_by_term("id", chunk_id)


def _write_error(path: Path, exc: ValueError) -> OSError:
    text = str(exc)
    # A writer thread that died of a full disk reports only that it died.
    if "StorageFull" in text or "No space left" in text or shutil.disk_usage(path).free < 2**20:
        return OSError(f"the disk is full: the keyword index in {path} cannot grow")
    return OSError(f"the keyword index in {path} cannot be written: {text[:200]}")


def drop_table(folder: Path, name: str) -> None:
    """Delete one index's keywords; opening it first would write to a disk that may be full."""
    shutil.rmtree(folder / name, ignore_errors=True)


def table_names(folder: Path) -> list[str]:
    """The indexes (collection names) that have a keyword index in this folder."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "meta.json").exists())
