"""Step two of an answer: text from the picked sentences, checked and cited sentence by
sentence.

The model writes a short answer seeing the picked sentences again; each of its sentences
must then cite picked sentences that hold its names and numbers (`rag.answering.checks`).
A sentence that fails is re-pointed to the picked sentences that hold it, or dropped.
When nothing the model wrote survives, the answer is the picked sentences themselves
(extractive), which hold the answer by construction.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rag.answer import Citation, CitationFix
from rag.answering.checks import missing_names, missing_numbers
from rag.answering.sentences import NumberedSentence
from rag.citations import Sentence, parse_answer, render
from rag.grounding import declines, is_fragment
from rag.retrieval import Passage
from rag.support import has_content, support


@dataclass
class Composed:
    text: str
    citations: list[Citation] = field(default_factory=list)
    fixes: list[CitationFix] = field(default_factory=list)
    support: float = 1.0  # the weakest kept sentence's lexical support by its citations
    gaps: list[str] = field(default_factory=list)  # "The documents don't say ..." parts
    extractive: bool = False
    declined: bool = False  # the model found no answer in the picked sentences


def extract(picked: Sequence[NumberedSentence], passages: Sequence[Passage]) -> Composed:
    """The picked sentences themselves, each citing itself."""
    sentences = [Sentence(text=s.text, cited=[s.n]) for s in picked]
    return _finish(sentences, picked, passages, [], {s.n: 1.0 for s in picked}, extractive=True)


MAX_REPOINTED = 5  # sentences an uncited claim may be re-pointed to (a whole document has many)
_YES_NO_ONLY = re.compile(r"^\W*(yes|no)\W*$", re.IGNORECASE)


def compose(
    text: str,
    picked: Sequence[NumberedSentence],
    passages: Sequence[Passage],
    question: str,
    min_support: float,
    numbered: int,
) -> Composed:
    """Check the model's answer against the picked sentences; extractive if none of it holds."""
    by_n = {s.n: s for s in picked}
    parsed = parse_answer(text, numbered)
    fixes = [
        CitationFix(sentence=0, written=n, now=None, reason=f"[{n}] names no sentence")
        for n in parsed.out_of_range
    ]
    kept: list[Sentence] = []
    gaps: list[str] = []
    supports: dict[int, float] = {}
    for index, sentence in enumerate(parsed.sentences):
        if _YES_NO_ONLY.match(sentence.text) or not has_content(sentence.text):
            kept.append(sentence)  # "No." before its reason: backed by what follows
            sentence.cited = [n for n in sentence.cited if n in by_n]
            continue
        if declines(sentence.text):
            if not any(s.cited for s in kept):
                return Composed(text=text.strip(), fixes=fixes, support=0.0, declined=True)
            gaps.append(sentence.text)  # the part of the question the documents don't cover
            sentence.cited = []
            kept.append(sentence)
            continue
        cited = _cite(index, sentence, by_n, question, min_support, fixes)
        if not cited:
            continue
        sentence.cited = cited
        kept.append(sentence)
        together = " ".join(by_n[n].text for n in cited)
        score = support(sentence.text, together, question)
        for n in cited:
            supports[n] = max(supports.get(n, 0.0), score)
    kept = _back_yes_no(kept)
    if not any(s.cited for s in kept):
        composed = extract(picked, passages)
        composed.fixes = [
            *fixes,
            CitationFix(
                sentence=0,
                written=None,
                now=None,
                reason="no sentence of the model's answer held up: the evidence is quoted",
            ),
        ]
        return composed
    return _finish(kept, picked, passages, fixes, supports, gaps=gaps)


_LEADING_YES_NO = re.compile(r"^\s*(?:yes|no)\b[,.:;!]?\s*", re.IGNORECASE)


def strip_yes_no(text: str, fixes: list[CitationFix]) -> str:
    """The answer without a "Yes," or "No," before it, for a question that asked neither;
    the removal is recorded in `fixes`."""
    rest = _LEADING_YES_NO.sub("", text, count=1)
    if rest == text or not rest or rest.startswith("["):
        return text
    fixes.append(
        CitationFix(sentence=0, written=None, now=None, reason="yes/no removed: not asked")
    )
    return rest[0].upper() + rest[1:]


def _cite(
    index: int,
    sentence: Sentence,
    by_n: dict[int, NumberedSentence],
    question: str,
    min_support: float,
    fixes: list[CitationFix],
) -> list[int]:
    """The picked sentences this answer sentence may cite, or none (dropped, with a fix)."""
    written = sentence.cited[0] if sentence.cited else None

    def drop(reason: str) -> list[int]:
        fixes.append(CitationFix(sentence=index, written=written, now=None, reason=reason))
        return []

    if is_fragment(sentence.text):
        return drop("sentence removed: incomplete")
    for n in sentence.cited:
        if n not in by_n:
            fixes.append(
                CitationFix(sentence=index, written=n, now=None, reason=f"[{n}] is not evidence")
            )
    cited = [n for n in sentence.cited if n in by_n]
    texts = [by_n[n].text for n in cited]
    if cited and _holds(sentence.text, texts, question, min_support):
        return cited
    # Re-point: the picked sentences that hold its names and numbers, best support first.
    ranked = sorted(by_n, key=lambda n: -support(sentence.text, by_n[n].text, question))
    for size in (1, min(len(ranked), MAX_REPOINTED)):
        candidates = sorted(ranked[:size])
        texts = [by_n[n].text for n in candidates]
        if _holds(sentence.text, texts, question, min_support):
            now = candidates[0]
            reason = f"[{written}] does not hold it" if written else "uncited sentence"
            fixes.append(CitationFix(sentence=index, written=written, now=now, reason=reason))
            return candidates
    evidence = [s.text for s in by_n.values()]
    if lost := missing_names(sentence.text, evidence, question):
        return drop(f"sentence removed: {', '.join(lost)} not in the evidence")
    if lost := missing_numbers(sentence.text, evidence, question):
        return drop(f"sentence removed: {', '.join(lost)} not in the evidence")
    return drop("sentence removed: the evidence does not support it")


def _holds(sentence: str, evidence: list[str], question: str, min_support: float) -> bool:
    """Its names and numbers occur in the evidence, and most of its words."""
    return (
        not missing_names(sentence, evidence, question)
        and not missing_numbers(sentence, evidence, question)
        and support(sentence, " ".join(evidence), question) >= min_support
    )


def _back_yes_no(kept: list[Sentence]) -> list[Sentence]:
    """A bare "Yes." or "No." stands only with a cited sentence after it; it borrows
    no citation of its own, so a lone one is dropped."""
    if kept and _YES_NO_ONLY.match(kept[0].text) and not any(s.cited for s in kept[1:]):
        return kept[1:]
    return kept


def _finish(
    sentences: list[Sentence],
    picked: Sequence[NumberedSentence],
    passages: Sequence[Passage],
    fixes: list[CitationFix],
    supports: dict[int, float],
    *,
    gaps: Sequence[str] = (),
    extractive: bool = False,
) -> Composed:
    """Build the citations, in order of use. They keep the sentence numbers the model
    saw and wrote, so streamed text and the checked answer cite alike."""
    by_n = {s.n: s for s in picked}
    order = list(dict.fromkeys(n for sentence in sentences for n in sentence.cited))
    citations = [by_n[n].citation(n, supports.get(n, 0.0), passages) for n in order]
    content = [supports[n] for n in order if n in supports]
    return Composed(
        text=render(sentences),
        citations=citations,
        fixes=fixes,
        support=min(content, default=1.0),
        gaps=list(gaps),
        extractive=extractive,
    )
