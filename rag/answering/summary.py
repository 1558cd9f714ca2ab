"""An extractive summary: the document's own sentences that cover it best, in order.

The 1.5B model asked for a summary copies the document from its start until it runs
out of tokens (measured: the README, Whole documents). Picking sentences in code is
instant, invents nothing, and cites each sentence by construction: the sentences most
like the document as a whole (cosine to the mean of all sentence vectors) and nearest
its start (writers put the main point first), each next one also unlike those already
picked (maximal marginal relevance), so the picks spread over the document. Measured
by `python -m rag.benchmarks.summaries` (ROUGE against HaluEval's human summaries):
centrality alone fell well behind the document's first sentences; the start bonus
makes up for that. Quoted speech, a line that introduces a quote, and very short
sentences are passed over: they are rarely a main point; so are very long or
symbol-heavy ones (a manual's synopsis, code).
"""

import re
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.answering.sentences import NumberedSentence

_OPENS = '\u201c"\u00ab'
_QUOTE_MARKS = re.compile(r"[\u201c\u201d\"\u00ab\u00bb]")
MIN_WORDS, MAX_WORDS = 6, 60
_SYMBOLS = re.compile(r"[\[\]|<>{}=$#*_/\\]")


def _prose(text: str) -> bool:
    """A sentence a summary can quote: not a fragment, not a synopsis block or code."""
    count = len(text.split())
    return MIN_WORDS <= count <= MAX_WORDS and len(_SYMBOLS.findall(text)) <= count / 10


def _in_quotes(sentences: Sequence[NumberedSentence]) -> list[bool]:
    """Whether each sentence starts inside quoted speech (an unclosed quote before it
    in its stretch of text, or its own opening quote)."""
    inside, open_quote, region = [], False, None
    for s in sentences:
        if s.region != region:
            open_quote, region = False, s.region
        inside.append(open_quote or s.text.lstrip()[:1] in _OPENS)
        for mark in _QUOTE_MARKS.findall(s.text):
            open_quote = mark in "\u201c\u00ab" or (mark == '"' and not open_quote)
    return inside


def summary_size(count: int, limit: int, share: float) -> int:
    """About `share` of the sentences, from 3 to `limit`."""
    return max(1, min(limit, max(3, round(count * share)), count))


def select(vectors: np.ndarray, k: int, diversity: float, position: float) -> list[int]:
    """Maximal marginal relevance over unit `vectors` in document order, where relevance
    is the cosine to their mean plus `position` x (1 - place/count), from 1 for the
    first to 0 for the last."""
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    count = len(vectors)
    relevance = vectors @ centre + position * (1 - np.arange(count) / count)
    similarity = vectors @ vectors.T
    picked: list[int] = []
    for _ in range(min(k, count)):
        redundancy = similarity[:, picked].max(axis=1) if picked else np.zeros(count)
        score = (1 - diversity) * relevance - diversity * redundancy
        score[picked] = -np.inf
        picked.append(int(score.argmax()))
    return sorted(picked)


def candidates(sentences: Sequence[NumberedSentence]) -> list[NumberedSentence]:
    """The sentences a summary may quote (all of them if none qualifies)."""
    quoted = _in_quotes(sentences)
    return [
        s
        for s, q in zip(sentences, quoted, strict=True)
        if not q and not s.text.rstrip().endswith(":") and _prose(s.text)
    ] or list(sentences)


def sentence_vectors(embeddings: Embeddings, sentences: Sequence[NumberedSentence]) -> np.ndarray:
    vectors = np.array(embeddings.embed_documents([s.text for s in sentences]))
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True).clip(1e-12)


def summarize(
    sentences: Sequence[NumberedSentence],
    embeddings: Embeddings,
    limit: int,
    diversity: float,
    position: float = 0.0,
    share: float = 0.25,
) -> list[NumberedSentence]:
    """The summary's sentences, in the document's order."""
    pool = candidates(sentences)
    wanted = summary_size(len(sentences), limit, share)
    if len(pool) <= wanted:
        return pool
    vectors = sentence_vectors(embeddings, pool)
    return [pool[i] for i in select(vectors, wanted, diversity, position)]
