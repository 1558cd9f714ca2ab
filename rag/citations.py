"""Reading `[n]` citation markers out of an answer, sentence by sentence.

Models write markers in many shapes: `[2]`, `[1, 2]`, `[1][2]`, `[Passage 3]`, after the
full stop or before it. Each marker is attached to the sentence it closes.
"""

import re
from dataclasses import dataclass, field

_NUMBER = r"(?:(?:passages?|sources?|doc(?:ument)?s?)\s*#?\s*)?\d{1,4}"
MARKER = re.compile(
    rf"\[\s*({_NUMBER}(?:\s*(?:,|;|&|and)\s*{_NUMBER})*)\s*\]",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d+")
_GAP = re.compile(r"\s+")
_CLOSERS = "\"'\u201d\u2019)]"
_OPENERS = "\"'\u201c\u2018(["


@dataclass
class Sentence:
    text: str  # without markers
    cited: list[int] = field(default_factory=list)  # as the model wrote them, unique, in order
    separator: str = " "  # what followed it in the answer


@dataclass
class ParsedAnswer:
    sentences: list[Sentence]
    out_of_range: list[int]  # markers naming no passage

    @property
    def cited(self) -> list[int]:
        seen: list[int] = []
        for sentence in self.sentences:
            seen.extend(n for n in sentence.cited if n not in seen)
        return seen


def _tidy(text: str) -> str:
    """Close the gaps a removed marker leaves: "AI [1]." -> "AI.", "China, [1]." -> "China."."""
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    text = re.sub(r"[,;:]+([.!?])", r"\1", text)
    text = re.sub(r"([.!?])[,;:]+", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _is_boundary(text: str, gap_start: int, gap_end: int, soft_wraps: bool = False) -> bool:
    """A line break ends a sentence; so does . ! ? before a capital, digit or quote.
    With `soft_wraps`, a single line break inside a sentence does not: one that follows
    no closing punctuation and comes before a lower-case word (hard-wrapped text)."""
    gap = text[gap_start:gap_end]
    if "\n" in gap:
        if not soft_wraps or gap.count("\n") > 1 or gap_end >= len(text):
            return True
        before = text[:gap_start].rstrip(_CLOSERS)
        return before.endswith((".", "!", "?", ":", ";")) or not text[gap_end].islower()
    if gap_end >= len(text):
        return False
    ended = text[:gap_start].rstrip(_CLOSERS).endswith((".", "!", "?"))
    following = text[gap_end]
    return ended and (following.isupper() or following.isdigit() or following in _OPENERS)


def sentence_spans(text: str, soft_wraps: bool = False) -> list[tuple[int, int, str]]:
    """(start, end, separator after) of each sentence of the text."""
    spans: list[tuple[int, int, str]] = []
    start = 0
    for gap in _GAP.finditer(text):
        if _is_boundary(text, gap.start(), gap.end(), soft_wraps):
            spans.append((start, gap.start(), "\n" if "\n" in gap.group() else " "))
            start = gap.end()
    spans.append((start, len(text), ""))
    return spans


def parse_answer(answer: str, passage_count: int) -> ParsedAnswer:
    """Split an answer into sentences and attach each marker to the sentence it closes."""
    clean_parts: list[str] = []
    markers: list[tuple[int, list[int]]] = []  # (position in clean text, numbers)
    cursor = length = 0
    for match in MARKER.finditer(answer):
        clean_parts.append(answer[cursor : match.start()])
        length += match.start() - cursor
        markers.append((length, [int(d) for d in _DIGITS.findall(match.group(1))]))
        cursor = match.end()
    clean_parts.append(answer[cursor:])
    clean = "".join(clean_parts)

    spans = sentence_spans(clean)

    sentences = [Sentence(_tidy(clean[s:e]), [], sep) for s, e, sep in spans]
    out_of_range: list[int] = []
    for position, numbers in markers:
        # The last sentence starting at or before the marker; markers after a full stop
        # sit in the gap between sentences and belong to the one before.
        index = max((i for i, (s, _, _) in enumerate(spans) if s <= position), default=0)
        for n in numbers:
            if not 1 <= n <= passage_count:
                out_of_range.append(n)
            elif n not in sentences[index].cited:
                sentences[index].cited.append(n)
    kept = [s for s in sentences if s.text or s.cited]
    return ParsedAnswer(sentences=kept, out_of_range=out_of_range)


def render(sentences: list[Sentence]) -> str:
    """Write sentences back with their (checked) markers after each one."""
    parts = []
    for sentence in sentences:
        marks = "".join(f"[{n}]" for n in sentence.cited)
        parts.append(f"{sentence.text} {marks}".strip() + sentence.separator)
    return "".join(parts).strip()
