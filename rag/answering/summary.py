"""An extractive summary: the document's own sentences that cover it best, in order.

The 1.5B model asked for a summary copies the document from its start until it runs
out of tokens (measured: the README, Whole documents). Picking sentences in code is
instant, invents nothing, and cites each sentence by construction: the sentences most
like the document as a whole (cosine to the mean of all sentence vectors), each next
one also unlike those already picked (maximal marginal relevance), so the picks spread
over the document. Quoted speech, a line that introduces a quote, and very short
sentences are passed over: they are rarely a main point; so are very long or
symbol-heavy ones (a manual's synopsis, code).
"""

import re
from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores.utils import maximal_marginal_relevance

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


def summary_size(count: int, limit: int) -> int:
    """About one sentence in four, from 3 to `limit`."""
    return max(1, min(limit, max(3, round(count / 4)), count))


def summarize(
    sentences: Sequence[NumberedSentence],
    embeddings: Embeddings,
    limit: int,
    diversity: float,
) -> list[NumberedSentence]:
    """The summary's sentences, in the document's order."""
    quoted = _in_quotes(sentences)
    candidates = [
        s
        for s, q in zip(sentences, quoted, strict=True)
        if not q and not s.text.rstrip().endswith(":") and _prose(s.text)
    ] or list(sentences)
    wanted = summary_size(len(sentences), limit)
    if len(candidates) <= wanted:
        return candidates
    vectors = np.array(embeddings.embed_documents([s.text for s in candidates]))
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    picks = maximal_marginal_relevance(
        centre, vectors.tolist(), lambda_mult=1.0 - diversity, k=wanted
    )
    return [candidates[i] for i in sorted(picks)]
