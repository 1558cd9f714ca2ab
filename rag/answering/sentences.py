"""Retrieved passages as numbered sentences with exact offsets into their documents.

The model picks evidence by number and citations point at sentences, so each number
must name one exact span: `document[start:end] == text`. Overlapping chunks of one
document are merged first, so a sentence cut by a chunk boundary comes out whole and
no sentence is numbered twice.
"""

import itertools
import re
from collections.abc import Sequence
from operator import itemgetter

from pydantic import BaseModel

from rag.answer import Citation
from rag.citations import sentence_spans
from rag.documents import cached_document_text
from rag.retrieval import Passage, place_label

# "...19th century.First for Women is..." : a full stop with no space before a capital
# and a lower-case letter (HaluEval's passages, pasted text) still ends a sentence.
_GLUED = re.compile(r"(?<=[a-z0-9)\"\u201d'])[.!?](?=[A-Z][a-z])")


# A full stop after these does not end a sentence: "the Hon. Greg Hunt", "David I. Arkin".
_ABBREVIATION = re.compile(
    r"(?:^|[\s(])(?:[A-Z]|Hon|Mr|Mrs|Ms|Dr|St|Jr|Sr|Prof|Gen|Col|Lt|Sgt|Capt|Gov|Sen|Rep|Rev"
    r"|No|vs|e\.g|i\.e|approx|ca)\.$"
)


class NumberedSentence(BaseModel):
    """One sentence of a retrieved passage: the unit the model picks and answers cite."""

    n: int
    passage: int  # 1-based index into the retrieved passages (the best one holding it)
    source: str
    name: str
    page: int | None = None
    place: str | None = None
    start: int
    end: int
    text: str
    region: int = 0  # which merged stretch of passages it came from

    @property
    def where(self) -> str:
        return self.name + place_label(self.place, self.page)

    def citation(self, n: int, support: float, passages: Sequence[Passage]) -> Citation:
        """This sentence cited as `[n]`: its own span, with the chunk it came from."""
        p = passages[self.passage - 1]
        return Citation(
            **p.model_dump(exclude={"start", "end", "text", "page", "place"}),
            page=self.page,
            place=self.place,
            start=self.start,
            end=self.end,
            text=self.text,
            n=n,
            support=round(support, 3),
            passage=self.passage,
        )


def split_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, whitespace trimmed, none empty."""
    spans: list[tuple[int, int]] = []
    for start, end, _ in sentence_spans(text, soft_wraps=True):
        cuts = [start] + [m.end() for m in _GLUED.finditer(text, start, end)] + [end]
        for a, b in itertools.pairwise(cuts):
            piece = text[a:b]
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece.rstrip())
            if trail > lead:
                spans.append((a + lead, a + trail))
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and _ABBREVIATION.search(text[merged[-1][0] : merged[-1][1]]):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


class _Region(BaseModel):
    """A stretch of one document covered by one or more overlapping passages."""

    source: str
    start: int
    end: int
    text: str
    first: int  # best-ranked passage in it, 1-based
    passages: list[int]


def _agree(region: _Region, p: Passage) -> bool:
    """Overlapping chunks merge only if their shared text is the same (an index that
    outlived a change of the file, or two texts at one place, stay apart)."""
    shared = region.text[p.start - region.start :][: p.end - p.start]
    return p.text.startswith(shared)


def _regions(passages: Sequence[Passage]) -> list[_Region]:
    by_source: dict[str, list[int]] = {}
    for i, p in enumerate(passages):
        by_source.setdefault(p.source, []).append(i)
    regions: list[_Region] = []
    for source, indexes in by_source.items():
        merged: list[_Region] = []
        for i in sorted(indexes, key=lambda i: passages[i].start):
            p = passages[i]
            last = merged[-1] if merged else None
            if last is not None and p.start <= last.end and _agree(last, p):
                if p.end > last.end:
                    last.text += p.text[last.end - p.start :]
                    last.end = p.end
                last.first = min(last.first, i + 1)
                last.passages.append(i + 1)
            else:
                merged.append(
                    _Region(
                        source=source,
                        start=p.start,
                        end=p.end,
                        text=p.text,
                        first=i + 1,
                        passages=[i + 1],
                    )
                )
        regions.extend(merged)
    return sorted(regions, key=lambda r: r.first)


def _joinable(text: str, last: Passage, region: _Region) -> bool:
    """Only the document's whitespace lies between them, and both still match it."""
    return (
        last.end <= region.start
        and not text[last.end : region.start].strip()
        and text[last.start : last.end] == last.text
        and text[region.start : region.end] == region.text
    )


def merge_chunks(chunks: Sequence[Passage]) -> list[Passage]:
    """Chunks joined back into one passage per document (per stretch of text, where a
    gap between chunks is not the document's own whitespace any more), best first."""
    merged: list[Passage] = []
    for r in _regions(chunks):
        last = merged[-1] if merged else None
        text = cached_document_text(r.source) if last and last.source == r.source else None
        parts = sorted(
            {part for n in r.passages for part in chunks[n - 1].parts}, key=itemgetter(0)
        )
        if last and text and _joinable(text, last, r):
            update = {"end": r.end, "text": text[last.start : r.end], "parts": last.parts + parts}
            merged[-1] = last.model_copy(update=update)
            continue
        first = chunks[r.first - 1]
        update = {
            "start": r.start,
            "end": r.end,
            "text": r.text,
            "chunk_id": f"{r.source}#{r.start}",
            "parts": parts,
        }
        merged.append(first.model_copy(update=update))
    return merged


def number_sentences(passages: Sequence[Passage]) -> list[NumberedSentence]:
    """Every sentence of the passages, numbered from 1: the best passage's region first,
    each region in document order."""
    sentences: list[NumberedSentence] = []
    for r, region in enumerate(_regions(passages)):
        for a, b in split_spans(region.text):
            start, end = region.start + a, region.start + b
            # The best-ranked passage that holds the sentence whole.
            owner = next(
                (
                    n
                    for n in sorted(region.passages)
                    if passages[n - 1].start <= start and end <= passages[n - 1].end
                ),
                region.first,
            )
            p = passages[owner - 1]
            place, page = p.part_at(start)
            sentences.append(
                NumberedSentence(
                    n=len(sentences) + 1,
                    passage=owner,
                    source=p.source,
                    name=p.name,
                    page=page,
                    place=place,
                    start=start,
                    end=end,
                    text=region.text[a:b],
                    region=r,
                )
            )
    return sentences


def format_sentences(sentences: Sequence[NumberedSentence], shown: Sequence[str]) -> str:
    """The model's view: one `[n] sentence` per line, a blank line between stretches of
    text. `shown` is the text the model reads of each (orders withheld)."""
    lines: list[str] = []
    for i, (s, text) in enumerate(zip(sentences, shown, strict=True)):
        if i and s.region != sentences[i - 1].region:
            lines.append("")
        lines.append(f"[{s.n}] {' '.join(text.split())}")  # a wrapped sentence on one line
    return "\n".join(lines)
