"""What the Documents tab does to the index: uploads, listing, deletion, re-indexing.

Uploads are checked before they are copied in, so a bad file never reaches the uploads
folder or the index. Files are stored only under `<data_dir>/uploads`, by base name.
"""

import shutil
from pathlib import Path

from rag.documents import check_document, check_suffix
from rag.errors import RagError
from rag.ingest import IngestReport, ingest
from rag.pipeline import Pipeline
from rag.progress import Listener


def uploads_dir(pipeline: Pipeline) -> Path:
    return pipeline.settings.uploads_dir.resolve()


def safe_name(name: str) -> str:
    """The base name only: `../x.txt` and `/etc/x.txt` both become `x.txt`."""
    base = Path(name.replace("\\", "/")).name.strip()
    if base in ("", ".", "..") or base.startswith("."):
        raise RagError(f"not a usable file name: {name!r}")
    return base


def add_uploads(
    pipeline: Pipeline,
    files: list[tuple[Path, str]],
    listener: Listener | None = None,
    max_bytes: int | None = None,
) -> tuple[IngestReport | None, list[str]]:
    """Check, copy and index uploaded `(temp path, original name)` pairs.

    Returns the ingest report (None when nothing passed the check) and one message per
    rejected file."""
    pipeline.store.usable()  # before any copy: an upload that cannot be indexed is not kept
    problems: list[str] = []
    accepted: list[tuple[Path, Path]] = []
    folder = uploads_dir(pipeline)
    for temp, original in files:
        try:
            name = safe_name(original)
            if any(target.name == name for _, target in accepted):
                raise RagError(f"a second file named {name} in this upload; the first was kept")
            check_suffix(Path(name))
            if max_bytes is not None and temp.stat().st_size > max_bytes:
                raise RagError(f"larger than {max_bytes // 1_000_000} MB")
            checked = temp.with_name(name) if temp.name != name else temp
            if checked != temp:
                shutil.copyfile(temp, checked)
            check_document(checked)  # raises DocumentError: empty, unreadable, not UTF-8
            accepted.append((checked, folder / name))
        except (RagError, OSError) as exc:
            problems.append(f"{original}: {exc}")
    if not accepted:
        return None, problems
    folder.mkdir(parents=True, exist_ok=True)
    for checked, target in accepted:
        shutil.copyfile(checked, target)
    report = ingest(
        [t for _, t in accepted],
        pipeline.store,
        pipeline.embeddings,
        pipeline.settings,
        progress=False,
        listener=listener,
    )
    problems += [f"{Path(p.path).name}: {p.reason}" for p in report.failed]
    return report, problems


PAGE_ROWS = 50  # documents listed at once; the filter and the page find the rest


def document_rows(pipeline: Pipeline, search: str | None = "") -> list[list[object]]:
    """Every indexed document whose path contains `search`: name, chunks, path."""
    wanted = (search or "").strip().lower()
    return [
        [Path(source).name, count, source]
        for source, count in sorted(pipeline.store.sources().items())
        if wanted in source.lower()
    ]


def page_of(rows: list[list[object]], page: int) -> tuple[list[list[object]], int, str]:
    """One page of rows, the page actually shown (clamped), and a line that says so."""
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    page = min(max(1, page), pages)
    first = (page - 1) * PAGE_ROWS
    shown = rows[first : first + PAGE_ROWS]
    if not rows:
        return shown, page, "No documents match."
    label = f"{len(rows)} document{'s' if len(rows) != 1 else ''}"
    if pages > 1:
        label += f"; page {page} of {pages} ({first + 1}-{first + len(shown)})"
    return shown, page, label


def delete_document(pipeline: Pipeline, source: str) -> int:
    """Drop a document's chunks; an uploaded copy is deleted too, files elsewhere stay."""
    if source not in pipeline.store.sources():
        raise RagError(f"not in the index: {source}")
    deleted = pipeline.store.delete_sources([source])
    path = Path(source)
    if path.parent == uploads_dir(pipeline):
        path.unlink(missing_ok=True)
    return deleted


def reindex(pipeline: Pipeline, listener: Listener | None = None) -> IngestReport:
    """Bring every indexed document up to date with its file; vanished files drop out."""
    sources = pipeline.store.sources()
    present = [Path(s) for s in sources if Path(s).is_file()]
    gone = [s for s in sources if not Path(s).is_file()]
    if gone:
        pipeline.store.delete_sources(gone)
    report = ingest(
        present,
        pipeline.store,
        pipeline.embeddings,
        pipeline.settings,
        progress=False,
        listener=listener,
    )
    report.removed = gone
    return report
