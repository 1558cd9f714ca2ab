"""The document store: Chroma for vectors, a SQL record manager for what was indexed.

The record manager is LangChain's indexing bookkeeping (one row per chunk id, grouped
by source file). It is what lets a re-ingest skip unchanged chunks and lets a removed
file's chunks be found and deleted.
"""

import contextlib
import hashlib
import json
import shutil
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
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

from rag.embeddings import SentenceTransformerEmbeddings
from rag.errors import RagError
from rag.manifest import ChunkerIdentity, IndexManifest, IndexMismatch, check_manifest
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


def chunk_id(chunk: Document) -> str:
    """A chunk's id is the hash of its text and metadata, so any change makes a new id."""
    payload = json.dumps([chunk.page_content, chunk.metadata], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class DocumentStore:
    vectors: Chroma
    records: SourceRecordManager
    # Set when the index was built by other settings (`open_store(on_mismatch="record")`):
    # servers keep running to show it, and nothing may search or write the index.
    problem: str | None = None

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
        self.records.delete_keys(self.records.list_keys())

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


def index_manifest(settings: Settings, embeddings: SentenceTransformerEmbeddings) -> IndexManifest:
    """The manifest an index built with these settings records."""
    chunker = ChunkerIdentity(size=settings.chunking.size, overlap=settings.chunking.overlap)
    return IndexManifest(embedder=embeddings.identity(), chunker=chunker)


def open_store(
    settings: Settings,
    embeddings: SentenceTransformerEmbeddings,
    *,
    on_mismatch: OnMismatch = "raise",
) -> DocumentStore:
    """The index, checked against its manifest. One built by other settings raises
    `IndexMismatch`; is opened with `problem` set ("record": servers, which show it);
    or is emptied and takes these settings ("rebuild": scratch indexes, refilled by
    their owner)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Records of one store must never vouch for chunks in another.
    store_name = f"{settings.chroma_url}/" if settings.chroma_url else "chroma/"
    try:
        vectors = Chroma(
            client=chroma_client(settings),
            collection_name=settings.store.collection,
            embedding_function=embeddings,
            collection_configuration=_COLLECTION_CONFIGURATION,
        )
        records = SourceRecordManager(
            namespace=store_name + settings.store.collection,
            db_url=f"sqlite:///{settings.records_db}",
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
    store = DocumentStore(vectors=vectors, records=records)
    wanted = index_manifest(settings, embeddings)
    where = str(settings.chroma_url or settings.data_dir)
    try:
        check_manifest(vectors._collection, wanted, where)
    except IndexMismatch as exc:
        if on_mismatch == "raise":
            raise
        if on_mismatch == "rebuild":
            store.clear()
            check_manifest(vectors._collection, wanted, where)  # empty: takes `wanted`
        else:
            store.problem = str(exc)
    return store


def _forget_client(settings: Settings) -> None:
    """Chroma keeps one client per folder for the process's life; kept past the folder's
    removal, it would go on serving the deleted collection (`chroma_client` names it)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    path = str(settings.chroma_dir.resolve())
    if (system := SharedSystemClient._identifier_to_system.pop(path, None)) is not None:
        system.stop()


def remove_index(settings: Settings) -> None:
    """Delete the index (vectors and records), never the documents, uploads or models."""
    if settings.chroma_url:
        with contextlib.suppress(chromadb.errors.NotFoundError):
            chroma_client(settings).delete_collection(settings.store.collection)
    else:
        _forget_client(settings)
        shutil.rmtree(settings.chroma_dir, ignore_errors=True)
    for path in settings.data_dir.glob(f"{settings.records_db.name}*"):  # with -wal, -shm
        path.unlink()
