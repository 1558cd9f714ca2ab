"""The document store: Chroma for vectors, a SQL record manager for what was indexed.

The record manager is LangChain's indexing bookkeeping (one row per chunk id, grouped
by source file). It is what lets a re-ingest skip unchanged chunks and lets a removed
file's chunks be found and deleted.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import chromadb
import chromadb.errors
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaClientSettings
from langchain_chroma import Chroma
from langchain_classic.indexes import SQLRecordManager
from langchain_classic.indexes._sql_record_manager import UpsertionRecord
from langchain_core.documents import Document
from sqlalchemy import func

from rag import formats
from rag.embeddings import Embedder
from rag.errors import RagError
from rag.keywords import KeywordTable, drop_table, table_names
from rag.manifest import ChunkerIdentity, IndexManifest, IndexMismatch, check_manifest
from rag.sections import headed_text
from rag.settings import Settings

OnMismatch = Literal["raise", "record", "rebuild"]
# Chroma's default is L2; MiniLM vectors are normalized and meant for cosine.
_COLLECTION_CONFIGURATION = {"hnsw": {"space": "cosine"}}


class SourceRecordManager(SQLRecordManager):
    """SQLRecordManager that can also list the sources it holds, with chunk counts."""

    def __init__(self, namespace: str, *, db_url: str) -> None:
        super().__init__(namespace, db_url=db_url)
        # Never writes: SQLite's data_version on it changes with every commit elsewhere.
        self._watch = sqlite3.connect(self.engine.url.database or "", check_same_thread=False)
        self._watch_lock = threading.Lock()
        self._seen: int | None = None
        self._version = (0.0, 0)

    def chunk_counts(self) -> dict[str, int]:
        with self._make_session() as session:
            rows = (
                session.query(UpsertionRecord.group_id, func.count())
                .filter(UpsertionRecord.namespace == self.namespace)
                .group_by(UpsertionRecord.group_id)
                .all()
            )
        return {source: count for source, count in rows if source is not None}

    def version(self) -> tuple[float, int]:
        """Changes whenever a chunk is written or deleted: (last write time, count).

        Counting 100k records takes ~25 ms, too long to do per question, so they are
        only counted again once SQLite says something was committed since the last time.
        """
        with self._watch_lock:
            (data_version,) = self._watch.execute("PRAGMA data_version").fetchone()
            if data_version != self._seen:
                with self._make_session() as session:
                    latest, count = (
                        session.query(func.max(UpsertionRecord.updated_at), func.count())
                        .filter(UpsertionRecord.namespace == self.namespace)
                        .one()
                    )
                self._seen, self._version = data_version, (latest or 0.0, count)
            return self._version

    def forget(self) -> None:
        """Delete every record of this namespace (its index is being emptied or dropped)."""
        with self._make_session() as session:
            session.query(UpsertionRecord).filter(
                UpsertionRecord.namespace == self.namespace
            ).delete()
            session.commit()


def record_namespaces(settings: Settings) -> list[str]:
    if not settings.records_db.exists():
        return []
    with sqlite3.connect(settings.records_db) as db:
        try:
            rows = db.execute("SELECT DISTINCT namespace FROM upsertion_record").fetchall()
        except sqlite3.OperationalError:  # no table yet
            return []
    return [namespace for (namespace,) in rows]


def chunk_id(chunk: Document) -> str:
    """A chunk's id is the hash of its text and metadata, so any change makes a new id."""
    payload = json.dumps([chunk.page_content, chunk.metadata], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


class KeywordedChroma(Chroma):
    """Chroma that keeps the keyword table in step: every chunk LangChain's `index`
    writes or deletes is written to or deleted from the keywords right after."""

    def __init__(self, *, keywords: KeywordTable, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.keywords = keywords

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict] | None = None,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        texts = list(texts)
        metas = metadatas or [{} for _ in texts]
        if ids is None:
            pairs = zip(texts, metas, strict=True)
            ids = [chunk_id(Document(page_content=t, metadata=m)) for t, m in pairs]
        # Contextual headers: embedded and keyword-indexed with the text, not stored in it,
        # so offsets and citations still point at the document's own text.
        headed = [headed_text(text, meta) for text, meta in zip(texts, metas, strict=True)]
        # Keywords first: a full disk then stops the ingest before Chroma takes the last
        # bytes, which it needs to drop a failed rebuild; ids without vectors are skipped
        # by retrieval and rewritten by the next ingest (the records come last).
        self.keywords.add(ids, headed, [meta.get("source", "") for meta in metas])
        self._collection.upsert(
            ids=ids,
            embeddings=self.embeddings.embed_documents(headed),  # type: ignore[arg-type]
            documents=texts,
            metadatas=metas if metadatas else None,  # type: ignore[arg-type]
        )
        return ids

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> None:
        super().delete(ids, **kwargs)
        if ids:
            self.keywords.delete(ids)

    def reset_collection(self) -> None:
        super().reset_collection()
        self.keywords.clear()


@dataclass(frozen=True)
class Generation:
    """One built index, all named by its Chroma collection: the vectors, the keyword
    table and the records. A rebuild makes a new one beside the one in use."""

    name: str
    vectors: KeywordedChroma
    records: SourceRecordManager


class DocumentStore:
    """The index in use. It follows `rag ingest --rebuild`: when another process
    switches the data folder to a new generation, the next access opens that one, so
    a running chat answers from the old index until the new one is complete, then
    from the new one."""

    def __init__(
        self,
        settings: Settings,
        embeddings: Embedder,
        generation: Generation,
        *,
        follow: bool = True,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.generation = generation
        self._problem: str | None = None
        self._follow = follow
        self._stamp = _pointer_stamp(settings)
        self._lock = threading.Lock()

    def current(self) -> Generation:
        if self._follow and (stamp := _pointer_stamp(self.settings)) != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    name = active_name(self.settings)
                    if name != self.generation.name:
                        self.generation = open_generation(self.settings, self.embeddings, name)
                        try:
                            self.check()
                            self._problem = None
                        except IndexMismatch as exc:
                            self._problem = str(exc)
                    self._stamp = stamp
        return self.generation

    @property
    def problem(self) -> str | None:
        """Why this index cannot be used, if it was built by other settings
        (`open_store(on_mismatch="record")`): servers keep running to show it, and
        nothing may search or write it until a rebuild, which they follow."""
        self.current()
        return self._problem

    @property
    def vectors(self) -> KeywordedChroma:
        return self.current().vectors

    @property
    def records(self) -> SourceRecordManager:
        return self.current().records

    @property
    def keywords(self) -> KeywordTable:
        return self.current().vectors.keywords

    def check(self) -> None:
        """`IndexMismatch` unless this index was built by these settings (an empty one
        takes them)."""
        wanted = index_manifest(self.settings, self.embeddings)
        where = str(self.settings.chroma_url or self.settings.data_dir)
        check_manifest(self.generation.vectors._collection, wanted, where)

    def usable(self) -> None:
        """A `RagError` saying why this store cannot be used, if it cannot."""
        if self.problem:
            raise RagError(self.problem)

    def sources(self) -> dict[str, int]:
        """Indexed source files and how many chunks each has."""
        return self.records.chunk_counts()

    def chunk_count(self) -> int:
        return self.vectors._collection.count()

    def clear(self) -> None:
        """Delete every chunk and record in place: an open client stays valid, which a
        removed folder would not leave it (`remove_index`, for a new process)."""
        self.vectors.reset_collection()  # with _COLLECTION_CONFIGURATION, as first made
        self.records.forget()

    def delete_sources(self, sources: Iterable[str]) -> int:
        """Remove every chunk of these sources: vectors first, then their records.

        In that order an interruption leaves records without vectors, which the next
        delete or ingest repairs, never vectors that nothing tracks.
        """
        deleted = 0
        for source in sources:
            while ids := self.records.list_keys(group_ids=[source], limit=1000):
                self.vectors.delete(ids=ids)
                self.records.delete_keys(ids)
                deleted += len(ids)
        return deleted

    def fresh(self) -> "DocumentStore":
        """An empty generation beside this one, not yet in use (`switch_to`)."""
        base = self.settings.store.collection
        numbers = [int(n[len(base) + 1 :]) for n in generation_names(self.settings) if n != base]
        number = 1 + max(numbers, default=0)
        generation = open_generation(self.settings, self.embeddings, f"{base}.{number}")
        store = DocumentStore(self.settings, self.embeddings, generation, follow=False)
        store.check()  # empty: records these settings
        return store

    def switch_to(self, fresh: "DocumentStore") -> Generation:
        """Make `fresh` the index in use, in one atomic rename; the generation it
        replaced, for the caller to drop once no reader can be inside it."""
        old = self.current()
        pointer = _pointer(self.settings)
        staged = pointer.with_suffix(".new")
        with open(staged, "w") as file:
            json.dump({"collection": fresh.generation.name}, file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(staged, pointer)
        _fsync_folder(pointer.parent)
        self.current()
        return old


def chroma_client(settings: Settings) -> ClientAPI:
    """The embedded store in <data_dir>/chroma, or the Chroma server at `chroma_url`:
    the only place the two differ."""
    client_settings = ChromaClientSettings(anonymized_telemetry=False)
    if not settings.chroma_url:
        return chromadb.PersistentClient(
            path=str(settings.chroma_dir.resolve()),  # Chroma caches clients by this string
            settings=client_settings,
        )
    url = urlsplit(settings.chroma_url)
    https = url.scheme == "https"
    try:
        return chromadb.HttpClient(
            host=url.hostname or "",
            port=url.port or (443 if https else 80),
            ssl=https,
            settings=client_settings,
        )
    except Exception:
        raise RagError(
            f"cannot reach the Chroma server at {settings.chroma_url}; start one with "
            "`rag chroma-server` or unset RAG_CHROMA_URL"
        ) from None


def index_manifest(settings: Settings, embeddings: Embedder) -> IndexManifest:
    """The manifest an index built with these settings records."""
    chunking = settings.chunking
    chunker = ChunkerIdentity(size=chunking.size, overlap=chunking.overlap, header=chunking.header)
    return IndexManifest(embedder=embeddings.identity(), chunker=chunker)


def _pointer(settings: Settings) -> Path:
    return settings.data_dir / "index.json"


def _pointer_stamp(settings: Settings) -> tuple[int, int] | None:
    try:
        stat = _pointer(settings).stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def active_name(settings: Settings) -> str:
    """The collection in use: the pointer's, or the configured name before any rebuild."""
    try:
        return json.loads(_pointer(settings).read_text())["collection"]
    except FileNotFoundError:
        return settings.store.collection
    except (ValueError, KeyError, TypeError):
        raise RagError(
            f"{_pointer(settings)} is damaged; delete it to use the index named "
            f"{settings.store.collection!r}, or rebuild with `rag ingest --rebuild`"
        ) from None


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _namespace(settings: Settings, name: str) -> str:
    # Records of one store must never vouch for chunks in another.
    return (f"{settings.chroma_url}/" if settings.chroma_url else "chroma/") + name


def open_generation(settings: Settings, embeddings: Embedder, name: str) -> Generation:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        vectors = KeywordedChroma(
            keywords=KeywordTable(settings.keywords_dir, name),
            client=chroma_client(settings),
            collection_name=name,
            embedding_function=embeddings,
            collection_configuration=_COLLECTION_CONFIGURATION,
        )
        records = SourceRecordManager(
            namespace=_namespace(settings, name), db_url=f"sqlite:///{settings.records_db}"
        )
        records.create_schema()
    except RagError:
        raise
    except Exception as exc:
        reason = next(iter(str(exc).splitlines()), type(exc).__name__)
        raise RagError(
            f"the index in {settings.chroma_url or settings.data_dir} is damaged ({reason}); "
            "rebuild it from your files with `rag ingest --rebuild [PATH ...]`"
        ) from None
    return Generation(name, vectors, records)


def open_store(
    settings: Settings,
    embeddings: Embedder,
    *,
    on_mismatch: OnMismatch = "raise",
) -> DocumentStore:
    """The index in use, checked against its manifest. One built by other settings
    raises `IndexMismatch`; is opened with `problem` set ("record": servers, which show
    it, and `rag ingest --rebuild`, which builds beside it); or is emptied and takes
    these settings ("rebuild": scratch indexes, refilled by their owner)."""
    formats.configure(settings.formats, settings.extracted_dir)
    generation = open_generation(settings, embeddings, active_name(settings))
    store = DocumentStore(settings, embeddings, generation)
    try:
        store.check()
    except IndexMismatch as exc:
        if on_mismatch == "raise":
            raise
        if on_mismatch == "rebuild":
            store.clear()
            store.check()  # empty: takes these settings
        else:
            store._problem = str(exc)
    return store


_FTS5_KEYWORDS = "keywords.sqlite"  # the keyword index of versions before tantivy


def _is_generation(settings: Settings, name: str) -> bool:
    base = settings.store.collection
    return name == base or (name.startswith(base + ".") and name[len(base) + 1 :].isdigit())


def generation_names(settings: Settings) -> set[str]:
    """Every generation of this collection that left anything: vectors, keywords or records."""
    names = {c.name for c in chroma_client(settings).list_collections()}
    names |= set(table_names(settings.keywords_dir))
    prefix = _namespace(settings, "")
    names |= {n.removeprefix(prefix) for n in record_namespaces(settings) if n.startswith(prefix)}
    return {name for name in names if _is_generation(settings, name)}


def drop_generation(settings: Settings, name: str) -> None:
    """Delete one generation's vectors, keywords and records (never the documents).
    Keywords first: removing files frees the space a full disk needs for the rest."""
    drop_table(settings.keywords_dir, name)
    with contextlib.suppress(chromadb.errors.NotFoundError, ValueError):
        chroma_client(settings).delete_collection(name)
    SourceRecordManager(
        namespace=_namespace(settings, name), db_url=f"sqlite:///{settings.records_db}"
    ).forget()


def drop_leftovers(settings: Settings) -> list[str]:
    """Drop the generations not in use: a rebuild killed before its switch, or the old
    index of one killed after it. Call with the ingest lock held."""
    active = active_name(settings)
    leftovers = sorted(generation_names(settings) - {active})
    for name in leftovers:
        drop_generation(settings, name)
    for path in settings.data_dir.glob(f"{_FTS5_KEYWORDS}*"):
        path.unlink()
    return leftovers


def _forget_client(settings: Settings) -> None:
    """Chroma keeps one client per folder for the process's life; kept past the folder's
    removal, it would go on serving the deleted collection (`chroma_client` names it)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    path = str(settings.chroma_dir.resolve())
    if (system := SharedSystemClient._identifier_to_system.pop(path, None)) is not None:
        with contextlib.suppress(Exception):  # one that failed to open has nothing to stop
            system.stop()


def remove_index(settings: Settings) -> None:
    """Delete the index, every generation (vectors, keywords and records), never the
    documents, uploads or models: the way out of an index too damaged to open."""
    if settings.chroma_url:
        for name in generation_names(settings):
            with contextlib.suppress(chromadb.errors.NotFoundError):
                chroma_client(settings).delete_collection(name)
    else:
        _forget_client(settings)
        shutil.rmtree(settings.chroma_dir, ignore_errors=True)
    shutil.rmtree(settings.keywords_dir, ignore_errors=True)
    shutil.rmtree(settings.extracted_dir, ignore_errors=True)
    for name in (settings.records_db.name, _FTS5_KEYWORDS):  # with -wal, -shm
        for path in settings.data_dir.glob(f"{name}*"):
            path.unlink()
    _pointer(settings).unlink(missing_ok=True)
