"""The keyword index: BM25 over each chunk's terms, kept in SQLite FTS5 beside the records.

Chroma 1.5 keeps sparse BM25 vectors only in Chroma Cloud: a local collection refuses the
schema ("Sparse vector indexing is not enabled in local") and `Collection.search` raises
"Search is not implemented for Local Chroma". FTS5 instead is persistent and updated per
chunk as the vectors are, so an ingest never rebuilds it and a new process does not read
every chunk before its first question. Chunks are indexed as their `terms` (stemmed, no
stopwords), the same terms a query is cut into, so FTS5's tokenizer only splits on the
spaces between them.
"""

import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from rag.support import terms

# Letters, digits and the apostrophe inside a term ("o'neil") are a term's characters.
_TOKENIZER = "unicode61 remove_diacritics 0 tokenchars ''''"
_SQLITE_MAX_PARAMETERS = 30_000


class KeywordTable:
    """One index's chunks (a Chroma collection's): a row per chunk id and its source,
    and an FTS5 table of its terms under the same rowid."""

    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self._chunks = _quoted(f"{name}.chunks")
        self._terms = _quoted(f"{name}.terms")
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")  # readers never wait for an ingest
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {self._chunks} "
                "(row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, source TEXT NOT NULL)"
            )
            self._db.execute(
                f"CREATE INDEX IF NOT EXISTS {_quoted(f'{name}.sources')} ON {self._chunks}(source)"
            )
            self._db.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {self._terms} "
                f'USING fts5(terms, tokenize="{_TOKENIZER}")'
            )

    def add(self, ids: Sequence[str], texts: Sequence[str], sources: Sequence[str]) -> None:
        """Index these chunks, replacing any already held under the same ids."""
        with self._lock, self._db:
            self._delete(ids)
            for chunk_id, text, source in zip(ids, texts, sources, strict=True):
                row = self._db.execute(
                    f"INSERT INTO {self._chunks} (chunk_id, source) VALUES (?, ?)",
                    (chunk_id, source),
                ).lastrowid
                self._db.execute(
                    f"INSERT INTO {self._terms} (rowid, terms) VALUES (?, ?)",
                    (row, " ".join(terms(text))),
                )

    def delete(self, ids: Sequence[str]) -> None:
        with self._lock, self._db:
            self._delete(ids)

    def _delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), _SQLITE_MAX_PARAMETERS):
            batch = list(ids[i : i + _SQLITE_MAX_PARAMETERS])
            marks = ",".join("?" * len(batch))
            rows = f"SELECT row FROM {self._chunks} WHERE chunk_id IN ({marks})"
            self._db.execute(f"DELETE FROM {self._terms} WHERE rowid IN ({rows})", batch)
            self._db.execute(f"DELETE FROM {self._chunks} WHERE chunk_id IN ({marks})", batch)

    def clear(self) -> None:
        with self._lock, self._db:
            self._db.execute(f"DELETE FROM {self._terms}")
            self._db.execute(f"DELETE FROM {self._chunks}")

    def drop(self) -> None:
        with self._lock, self._db:
            self._db.execute(f"DROP TABLE IF EXISTS {self._terms}")
            self._db.execute(f"DROP TABLE IF EXISTS {self._chunks}")

    def count(self) -> int:
        with self._lock:
            return self._db.execute(f"SELECT count(*) FROM {self._chunks}").fetchone()[0]

    def search(self, query: str, n: int, sources: Sequence[str] = ()) -> list[str]:
        """Ids of the best `n` chunks by BM25 that hold a query term (FTS5's bm25():
        k1 1.2, b 0.75); ties in the order they were indexed. `sources`: only chunks of
        these documents."""
        wanted = dict.fromkeys(terms(query))
        if not wanted:
            return []
        match = " OR ".join('"' + term.replace('"', '""') + '"' for term in wanted)
        scope = f"AND c.source IN ({','.join('?' * len(sources))})" if sources else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT c.chunk_id FROM {self._terms} t JOIN {self._chunks} c ON c.row = t.rowid "
                f"WHERE t.terms MATCH ? {scope} ORDER BY t.rank, t.rowid LIMIT ?",
                (match, *sources, n),
            ).fetchall()
        return [chunk_id for (chunk_id,) in rows]

    def close(self) -> None:
        self._db.close()


def table_names(path: Path) -> list[str]:
    """The indexes (collection names) that have a keyword table in this file."""
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return sorted(name.removesuffix(".chunks") for (name,) in rows if name.endswith(".chunks"))


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
