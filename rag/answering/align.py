"""Sentence-level citations for an answer that cites whole passages.

The classic chain's model cites passages by number (`[2]`), and the citation check
(`rag.grounding`) makes sure the passage supports each sentence. A reader wants the
sentence that holds the claim, and a chunk holds several facts, a neighbouring one
among them. So each answer sentence is aligned to the fewest sentences of its cited
passages that hold all of its names and numbers and most of its words; a sentence whose
names or numbers its passages do not hold at all (a name from the prompt's worked
example, a neighbouring passage's figure) is dropped, with the reason in `fixes`.

Citations are then renumbered `[1]`, `[2]`, ... in order of use, each the exact span of
one sentence, `passage` naming the chunk it comes from.
"""

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from rag.answer import CitationFix
from rag.answering.checks import is_yes_no_question, missing_names, missing_numbers
from rag.answering.sentences import NumberedSentence, number_sentences
from rag.citations import Sentence, parse_answer, render
from rag.grounding import CheckedAnswer
from rag.retrieval import Passage
from rag.support import content_words, has_content, numbers, support

Misfits = Literal["quote", "drop", "keep"]

MAX_SENTENCES = 4  # cited per answer sentence; more is a passage, not a sentence


def _pool(
    cited: Sequence[int], sentences: Sequence[NumberedSentence], passages: Sequence[Passage]
) -> list[NumberedSentence]:
    """The numbered sentences inside the cited passages (a sentence that a chunk boundary
    cut counts for each chunk holding part of it)."""
    spans = [(passages[n - 1].source, passages[n - 1].start, passages[n - 1].end) for n in cited]
    return [
        s
        for s in sentences
        if any(s.source == src and s.start < end and start < s.end for src, start, end in spans)
    ]


def _missing(claim: str, evidence: list[str], question: str) -> list[str]:
    return missing_names(claim, evidence, question) + missing_numbers(claim, evidence, question)


def choose(
    claim: str, pool: Sequence[NumberedSentence], question: str, min_support: float
) -> list[NumberedSentence]:
    """The fewest sentences of `pool` that hold the claim: greedily the one that leaves
    fewest names and numbers missing, then the best supporting, until all are held and
    support reaches `min_support`. Empty when no pool sentence holds a name it needs."""
    chosen: list[NumberedSentence] = []
    left = list(pool)
    while left and len(chosen) < MAX_SENTENCES:

        def gain(s: NumberedSentence) -> tuple[int, float]:
            texts = [c.text for c in [*chosen, s]]
            return -len(_missing(claim, texts, question)), support(claim, " ".join(texts), question)

        best = max(left, key=gain)
        chosen.append(best)
        left.remove(best)
        texts = [c.text for c in chosen]
        if (
            not _missing(claim, texts, question)
            and support(claim, " ".join(texts), question) >= min_support
        ):
            break
    if _missing(claim, [c.text for c in chosen], question):
        return []
    return sorted(chosen, key=lambda s: s.n)


def misfit(
    claim: str,
    chosen: Sequence[NumberedSentence],
    pool: Sequence[NumberedSentence],
    question: str,
    neighbour_margin: int = 0,
) -> tuple[NumberedSentence, str] | None:
    """The sentence to quote instead of `claim`, and why: the claim adds no word to the
    question ("Yes, Meta is ahead of OpenAI" for "Is Meta ahead of OpenAI?"), or (with a
    `neighbour_margin`) its evidence shares that many fewer of the question's words than
    a neighbouring sentence does: the fact next to the one asked for, or, as often in
    multi-hop questions, the answer, whose sentence need not repeat the question."""
    asked = content_words(question)
    if not asked:
        return None

    def match(texts: Sequence[str]) -> int:
        return len(asked & content_words(" ".join(texts)))

    best = max(pool, key=lambda s: (match([s.text]), -s.n))
    if not match([best.text]):
        return None
    if not (content_words(claim) - asked or numbers(claim) - numbers(question)):
        # "Yes, <the question>" stands when its evidence holds every word of it.
        held = content_words(" ".join(s.text for s in chosen))
        if not (is_yes_no_question(question) and content_words(claim) <= held):
            return best, "the answer only restated the question"
    gap = match([best.text]) - match([s.text for s in chosen])
    if neighbour_margin and gap >= neighbour_margin:
        return best, "the cited sentence is not what the question asks about"
    return None


def unrepeated(sentence: str) -> str:
    """A list without the items it repeats: a small model's list can loop on one name
    ("Meta, Zuckerberg, Zuckerberg, Zuckerberg, ...") until it runs out of tokens."""
    items = sentence.split(", ")
    seen: set[str] = set()
    kept = []
    for item in items:
        key = item.strip(" .").lower()
        if key not in seen:
            seen.add(key)
            kept.append(item)
    if len(kept) == len(items):
        return sentence
    return ", ".join(kept).rstrip(",. ") + "."


def align_citations(
    checked: CheckedAnswer,
    passages: Sequence[Passage],
    question: str,
    min_support: float,
    misfits: Misfits = "quote",
    neighbour_margin: int = 0,
) -> CheckedAnswer:
    """`checked` with each sentence citing sentences instead of passages; `unsupported`
    when no content sentence keeps a citation. A `misfit` sentence is replaced by the
    sentence it should have answered from (`quote`), dropped, or kept."""
    if checked.declined or checked.unsupported:
        return checked
    numbered = number_sentences(passages)
    fixes = [f.model_copy(update={"numbers": "passage"}) for f in checked.fixes]
    order: list[int] = []  # sentence numbers, in order of first citation
    supports: dict[int, float] = {}
    kept: list[Sentence] = []
    for index, sentence in enumerate(parse_answer(checked.text, len(passages)).sentences):
        if not sentence.cited or not has_content(sentence.text):
            kept.append(sentence)
            continue
        if (text := unrepeated(sentence.text)) != sentence.text:
            fixes.append(
                CitationFix(sentence=index, written=None, now=None, reason="repeated items removed")
            )
            sentence.text = text
        pool = _pool(sentence.cited, numbered, passages)
        chosen = choose(sentence.text, pool, question, min_support)
        if not chosen:
            lost = _missing(sentence.text, [s.text for s in pool], question)
            reason = f"sentence removed: {', '.join(lost)} not in the cited passage"
            fixes.append(
                CitationFix(
                    sentence=index,
                    written=sentence.cited[0],
                    now=None,
                    reason=reason,
                    numbers="passage",
                )
            )
            continue
        if misfits != "keep" and (
            found := misfit(sentence.text, chosen, pool, question, neighbour_margin)
        ):
            quoted, why = found
            drop = misfits == "drop" or quoted.n in order
            reason = (
                f"sentence removed: {why}"
                if drop
                else f"{why}: the sentence it asks about is quoted instead"
            )
            fixes.append(
                CitationFix(
                    sentence=index,
                    written=sentence.cited[0] if drop else None,
                    now=None,
                    reason=reason,
                    numbers="passage",
                )
            )
            if drop:
                continue
            sentence.text, chosen = quoted.text, [quoted]
        score = support(sentence.text, " ".join(s.text for s in chosen), question)
        for s in chosen:
            if s.n not in order:
                order.append(s.n)
            supports[s.n] = max(supports.get(s.n, 0.0), score)
        sentence.cited = [order.index(s.n) + 1 for s in chosen]
        kept.append(sentence)
    if not any(s.cited for s in kept):
        return replace(checked, fixes=fixes, unsupported=True)
    by_n = {s.n: s for s in numbered}
    citations = [by_n[n].citation(m, supports[n], passages) for m, n in enumerate(order, 1)]
    text = render(kept)
    return CheckedAnswer(text=text, citations=citations, fixes=fixes)
