"""The citation check: every `[n]` must point at a passage that supports its sentence.

The model often cites the wrong passage number and sometimes states facts no passage
holds. Each sentence is checked against every retrieved passage (see `rag.support`):
a wrong citation is re-pointed to the passage that supports the sentence, a sentence
no passage supports is removed, and every change is recorded as a `CitationFix`.
"""

import re
from dataclasses import dataclass, field

from rag.answer import Citation, CitationFix
from rag.citations import Sentence, parse_answer, render
from rag.retrieval import Passage
from rag.support import content_words, has_content, support

# The model's ways of saying the passages hold no answer.
_DECLINE = re.compile(
    r"\b(?:documents?|passages?|context|text|sources?)\s+(?:do|does)\s*(?:n['\u2019]t|not)\s+"
    r"(?:say|mention|specify|state|contain|provide|include|answer)"
    r"|\bno (?:information|mention|answer)\b|\bnot (?:mentioned|specified|stated|provided)\b"
    r"|\b(?:can(?:not|['\u2019]t)|unable to) (?:answer|determine|find)\b|\bI don['\u2019]t know\b",
    re.IGNORECASE,
)


# A sentence ending in one of these lost its object: the model wrote "spoke to [3]."
# with the marker standing in for a name, and without the marker nothing is said.
_DANGLING = frozenset(
    "a an the to in of for with by at from on into about as than and or but that".split()
)


def is_fragment(sentence: str) -> bool:
    words = re.findall(r"[\w']+", sentence.lower())
    return bool(words) and words[-1] in _DANGLING


@dataclass
class CheckedAnswer:
    text: str
    citations: list[Citation] = field(default_factory=list)
    fixes: list[CitationFix] = field(default_factory=list)
    declined: bool = False  # the model said the passages don't answer
    unsupported: bool = False  # the model answered, but its answer failed the check


def addresses(question: str, answer: str, min_overlap: float) -> bool:
    """Does the answer take up the question's own terms? Asked of retried answers, which
    come from a prompt that insists on an answer and so may answer something else."""
    asked = content_words(question)
    return not asked or len(asked & content_words(answer)) / len(asked) >= min_overlap


def declines(text: str) -> bool:
    first = parse_answer(text, 0).sentences
    return not text.strip() or bool(first and _DECLINE.search(first[0].text))


# A cited passage is kept only if it supports the sentence nearly as well as the best one.
_REPOINT_MARGIN = 0.15


def check_answer(
    text: str, passages: list[Passage], min_support: float, question: str = ""
) -> CheckedAnswer:
    if declines(text):
        return CheckedAnswer(text=text.strip(), declined=True)
    parsed = parse_answer(text, len(passages))
    fixes = [
        CitationFix(sentence=0, written=n, now=None, reason=f"[{n}] names no passage")
        for n in parsed.out_of_range
    ]
    kept: list[Sentence] = []
    best_support: dict[int, float] = {}
    first_content_supported: bool | None = None
    for index, sentence in enumerate(parsed.sentences):
        if not has_content(sentence.text):
            sentence.cited = []
            kept.append(sentence)
            continue
        scores = {
            n: support(sentence.text, p.text, question) for n, p in enumerate(passages, start=1)
        }
        if is_fragment(sentence.text):
            cited = []
        else:
            cited = _checked_citations(
                index, sentence, scores, passages, min_support, question, fixes
            )
        if first_content_supported is None:
            first_content_supported = bool(cited)
        if not cited:
            fixes.append(
                CitationFix(
                    sentence=index,
                    written=sentence.cited[0] if sentence.cited else None,
                    now=None,
                    reason="sentence removed: "
                    + ("incomplete" if is_fragment(sentence.text) else "no passage supports it"),
                )
            )
            continue
        sentence.cited = cited
        kept.append(sentence)
        for n in cited:
            best_support[n] = max(best_support.get(n, 0.0), scores[n])
    if not first_content_supported:
        return CheckedAnswer(text=text.strip(), fixes=fixes, unsupported=True)
    citations = [
        Citation(n=n, support=round(best_support[n], 3), **passages[n - 1].model_dump())
        for n in sorted(best_support)
    ]
    return CheckedAnswer(text=render(kept), citations=citations, fixes=fixes)


def _checked_citations(
    index: int,
    sentence: Sentence,
    scores: dict[int, float],
    passages: list[Passage],
    min_support: float,
    question: str,
    fixes: list[CitationFix],
) -> list[int]:
    """The citations a sentence keeps: its own if they support it about as well as any
    passage does, else the passage that supports it best."""
    best = max(scores, key=lambda n: scores[n])
    if sentence.cited:
        together = " ".join(passages[n - 1].text for n in sentence.cited)
        if support(sentence.text, together, question) >= min_support:
            # Several passages may share a sentence; each must hold a fair part of it.
            floor = max(min_support / 2, scores[best] - _REPOINT_MARGIN)
            if kept := [n for n in sentence.cited if scores[n] >= floor]:
                for n in sentence.cited:
                    if n not in kept:
                        fixes.append(
                            CitationFix(
                                sentence=index, written=n, now=None, reason=f"[{n}] adds little"
                            )
                        )
                return kept
    if scores[best] < min_support:
        return []
    written = sentence.cited[0] if sentence.cited else None
    reason = f"[{written}] does not support it" if written else "uncited sentence"
    fixes.append(CitationFix(sentence=index, written=written, now=best, reason=reason))
    return [best]
