"""Per-question judgements, each a plain function of text, so each can be tested alone.

- A passage *holds* a gold quote when it contains at least 60% of the quote's characters
  as one unbroken run (after folding case, quotes, hyphens and spaces), so a quote cut
  by a chunk boundary still counts for the chunk that has most of it.
- An answer *covers* a fact when it contains one of the fact's alternatives as whole
  words; an alternative ending in `*` matches any ending.
- Token F1 is SQuAD's: lower case, no punctuation or articles, bag-of-tokens overlap.
- *Groundedness* is judged with embeddings, independently of the product's lexical
  citation check: a sentence is grounded when its cosine similarity to the closest
  sentence of one of its cited passages is at least `GROUNDED_COSINE`.
"""

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from difflib import SequenceMatcher

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.citations import parse_answer
from rag.support import has_content

QUOTE_COVERAGE = 0.6
GROUNDED_COSINE = 0.75  # calibrated: supported paraphrases score 0.76+, topical misses 0.73-
_FOLD = str.maketrans(
    {
        "\u2019": "'",
        "\u2018": "'",
        "\u201c": '"',
        "\u201d": '"',
        "-": " ",
        "\u2013": " ",
        "\u2014": " ",
    }
)


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_FOLD).lower()
    return re.sub(r"\s+", " ", text).strip()


def holds(passage: str, quote: str) -> bool:
    passage, quote = fold(passage), fold(quote)
    if quote in passage:
        return True
    match = SequenceMatcher(None, passage, quote, autojunk=False).find_longest_match()
    return match.size >= QUOTE_COVERAGE * len(quote)


def covers(answer: str, alternatives: Sequence[str]) -> bool:
    text = fold(answer)
    for alternative in alternatives:
        word = fold(alternative)
        pattern = re.escape(word[:-1]) + r"\w*" if word.endswith("*") else re.escape(word) + r"\b"
        if re.search(r"(?<!\w)" + pattern, text):
            return True
    return False


def fact_coverage(answer: str, facts: Sequence[Sequence[str]]) -> float:
    return sum(covers(answer, alts) for alts in facts) / len(facts) if facts else 1.0


def _tokens(text: str) -> list[str]:
    text = re.sub(r"\[\d+\]", " ", fold(text))
    text = re.sub(r"[^\w\s]", " ", text)
    return [t for t in text.split() if t not in {"a", "an", "the"}]


def token_f1(answer: str, reference: str) -> float:
    got, want = _tokens(answer), _tokens(reference)
    common = sum((Counter(got) & Counter(want)).values())
    if not got or not want or not common:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def first_hit_rank(passages: Sequence[str], quotes: Sequence[str]) -> int | None:
    """1-based rank of the first passage holding any gold quote."""
    for rank, passage in enumerate(passages, start=1):
        if any(holds(passage, q) for q in quotes):
            return rank
    return None


def quote_recall(passages: Sequence[str], quotes: Sequence[str]) -> float:
    if not quotes:
        return 1.0
    return sum(any(holds(p, q) for p in passages) for q in quotes) / len(quotes)


def split_sentences(text: str) -> list[str]:
    return [s.text for s in parse_answer(text, 0).sentences if s.text]


def grounded_sentences(
    answer: str, cited: Mapping[int, str], embeddings: Embeddings
) -> list[tuple[str, bool]]:
    """Each content sentence of the answer, and whether a text it cites as `[n]` (a
    passage or a sentence) grounds it."""
    parsed = parse_answer(answer, max(cited, default=0))
    verdicts: list[tuple[str, bool]] = []
    for sentence in parsed.sentences:
        if not has_content(sentence.text):
            continue
        candidates = [s for n in sentence.cited if n in cited for s in split_sentences(cited[n])]
        if not candidates:
            verdicts.append((sentence.text, False))
            continue
        vectors = np.array(embeddings.embed_documents([sentence.text, *candidates]))
        best = float(np.max(vectors[1:] @ vectors[0]))
        verdicts.append((sentence.text, best >= GROUNDED_COSINE))
    return verdicts
