"""What built an index: the embedder, the chunker, the keyword tokenizer and the project
version. It is kept in the Chroma collection's metadata, so it travels with the vectors
to a Chroma server, and every open compares it with the settings in use: vectors of two
models never meet in one collection, and an upgrade that changed how text is cut or
embedded says so instead of answering from the old index without a word.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from chromadb.api.models.Collection import Collection
from pydantic import BaseModel, ConfigDict, ValidationError

import rag
from rag.errors import RagError
from rag.formats import READER_VERSION

MANIFEST_KEY = "rag_manifest"
# Bump when the splitting, the text the readers give (rag/formats: offsets point into
# it) or the keyword terms change in a way that changes chunks or their terms
# (rag/documents.py, rag/support.py), or where keywords are kept (rag/keywords.py); a
# library upgrade alone does not.
SPLITTER_VERSION = f"recursive-sentences-1, {READER_VERSION}"
TOKENIZER_VERSION = "nfkc-stem-stopwords-tantivy-3"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EmbedderIdentity(_Frozen):
    name: str
    sha256: str  # of the weights file(s)
    dimension: int
    normalized: bool
    query_prefix: str = ""
    document_prefix: str = ""


class ChunkerIdentity(_Frozen):
    size: int
    overlap: int
    splitter: str = SPLITTER_VERSION
    header: bool = False  # chunks embedded and keyword-indexed under "Title: Section"


class IndexManifest(_Frozen):
    embedder: EmbedderIdentity
    chunker: ChunkerIdentity
    keywords: str = TOKENIZER_VERSION
    built_by: str = rag.__version__  # recorded, never compared: releases share indexes

    def changes(self, wanted: "IndexManifest") -> list[str]:
        """What differs from `wanted`, in words; empty when the index fits."""
        found: list[str] = []
        old_e, new_e = self.embedder, wanted.embedder
        if (old_e.name, old_e.sha256) != (new_e.name, new_e.sha256):
            found.append(f"embedding model {_model(old_e)} -> {_model(new_e)}")
        for field in ("dimension", "normalized", "query_prefix", "document_prefix"):
            if getattr(old_e, field) != getattr(new_e, field):
                found.append(
                    f"embedding {field} {getattr(old_e, field)!r} -> {getattr(new_e, field)!r}"
                )
        for field in ("size", "overlap", "splitter", "header"):
            old, new = getattr(self.chunker, field), getattr(wanted.chunker, field)
            if old != new:
                found.append(f"chunk {field} {old} -> {new}")
        if self.keywords != wanted.keywords:
            found.append(f"keyword index {self.keywords} -> {wanted.keywords}")
        return found


def _model(identity: EmbedderIdentity) -> str:
    return f"{identity.name} ({identity.sha256[:8]})"


class IndexMismatch(RagError):
    """The index was built by other settings than these; only a rebuild mends it."""


def read_manifest(collection: Collection) -> IndexManifest | None:
    raw = (collection.metadata or {}).get(MANIFEST_KEY)
    if not isinstance(raw, str):
        return None
    try:
        return IndexManifest.model_validate_json(raw)
    except ValidationError:
        return None


def write_manifest(collection: Collection, manifest: IndexManifest) -> None:
    metadata = {**(collection.metadata or {}), MANIFEST_KEY: manifest.model_dump_json()}
    collection.modify(metadata=metadata)


def check_manifest(collection: Collection, wanted: IndexManifest, where: str) -> None:
    """Adopt `wanted` for an empty collection; otherwise raise `IndexMismatch` in one
    line naming what changed, unless the index was built the same way."""
    if collection.count() == 0:
        if read_manifest(collection) != wanted:
            write_manifest(collection, wanted)
        return
    built = read_manifest(collection)
    if built is None:
        why = "records no manifest (made by rag 0.1, or damaged): what built it is unknown"
    elif found := built.changes(wanted):
        why = f"was built with other settings ({'; '.join(found)})"
    else:
        return
    raise IndexMismatch(
        f"the index in {where} {why}; rebuild it with `rag ingest --rebuild [PATH ...]`"
    )


@cache
def _weights_sha256(folder: str, stamp: tuple[tuple[str, int, int], ...]) -> str:
    """One hash per process per weights version (`stamp`: name, size and mtime)."""
    digest = hashlib.sha256()
    for name, _, _ in stamp:
        with open(Path(folder) / name, "rb") as weights:
            while block := weights.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    stat = path.stat()
    return _weights_sha256(str(path.parent), ((path.name, stat.st_size, stat.st_mtime_ns),))


def sentence_transformer_identity(folder: Path, name: str) -> EmbedderIdentity:
    """A sentence-transformers folder's identity, read from its files without loading
    torch: the weights' hash and the output dimension from the module configs."""
    weights = sorted(p for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
    if not weights:
        raise RagError(f"embedding model not found: no weights in {folder}")
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in weights)
    return EmbedderIdentity(
        name=name,
        sha256=_weights_sha256(str(folder), stamp),
        dimension=_dimension(folder),
        normalized=True,  # rag.embeddings always normalises
    )


def _dimension(folder: Path) -> int:
    """The last Dense layer's output, else the pooling width, else the hidden size."""
    modules = _json(folder / "modules.json") or []
    width = None
    for module in modules:
        config = _json(folder / module.get("path", "") / "config.json") or {}
        width = config.get("out_features") or config.get("word_embedding_dimension") or width
    width = width or (_json(folder / "config.json") or {}).get("hidden_size")
    if not isinstance(width, int):
        raise RagError(f"cannot tell the embedding dimension of the model in {folder}")
    return width


def _json(path: Path) -> dict | list | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
