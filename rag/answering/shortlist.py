"""Which numbered sentences the model gets to choose from.

The 1.5B model picks evidence better from a few sentences than from every sentence of
three passages, and reads a short list faster. Sentences are ranked by MiniLM cosine
similarity to the question plus half the share of the question's content words they
hold; the best `size` keep their numbers and their order in the text.
"""

from collections.abc import Sequence

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.answering.sentences import NumberedSentence
from rag.support import content_words

LEXICAL_WEIGHT = 0.5


def shortlist(
    question: str, sentences: Sequence[NumberedSentence], embeddings: Embeddings, size: int
) -> list[NumberedSentence]:
    if size <= 0 or len(sentences) <= size:
        return list(sentences)
    vectors = np.array(embeddings.embed_documents([question, *(s.text for s in sentences)]))
    asked = content_words(question)
    lexical = np.array([len(asked & content_words(s.text)) / max(1, len(asked)) for s in sentences])
    score = vectors[1:] @ vectors[0] + LEXICAL_WEIGHT * lexical
    best = sorted(np.argsort(-score)[:size])
    return [sentences[i] for i in best]
