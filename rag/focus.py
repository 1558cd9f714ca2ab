"""Showing the model only the sentences of the passages that bear on the question.

Reading the prompt is most of an answer's time on a CPU, and a small model is easily
led astray by long passages. The retrieved chunks are cut down to `budget` sentences in
all, chosen by MiniLM cosine similarity to the question: each passage keeps its best
sentence, and the rest of the budget goes to the best sentences wherever they are.
Sentences stay in their original order, with "..." where some were left out.
Citations still point at the whole chunk and its offsets.
"""

from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.citations import sentence_spans
from rag.retrieval import Passage


def focus_passages(
    question: str, passages: Sequence[Passage], embeddings: Embeddings, budget: int
) -> list[str]:
    """The text to show for each passage: all of it, or its chosen sentences."""
    if budget <= 0:
        return [p.text for p in passages]
    pieces = [[p.text[s:e] for s, e, _ in sentence_spans(p.text)] for p in passages]
    if sum(len(sentences) for sentences in pieces) <= budget:
        return [p.text for p in passages]
    flat = [(i, j) for i, sentences in enumerate(pieces) for j in range(len(sentences))]
    vectors = np.array(embeddings.embed_documents([question, *(pieces[i][j] for i, j in flat)]))
    similarity = dict(zip(flat, vectors[1:] @ vectors[0], strict=True))
    ranked = sorted(flat, key=lambda ij: -similarity[ij])
    chosen = {
        max(((i, j) for j in range(len(s))), key=similarity.get) for i, s in enumerate(pieces)
    }
    for ij in ranked:
        if len(chosen) >= budget:
            break
        chosen.add(ij)
    shown = []
    for i, sentences in enumerate(pieces):
        text, previous = "", -1
        for j in sorted(j for (p, j) in chosen if p == i):
            text += ("... " if j != previous + 1 else "") + sentences[j] + " "
            previous = j
        shown.append((text + ("..." if previous < len(sentences) - 1 else "")).strip())
    return shown
