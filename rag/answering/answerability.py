"""One answerability score from the signals an answer leaves, and the outcome.

- retrieval: the best passage's cosine similarity to the question;
- evidence: 1 - p_none, the model's probability that some sentence answers;
- confirmation: the model's probability of Yes to "do the picked sentences state the
  answer?" (1 when that step is off);
- support: the weakest answer sentence's lexical support by the sentences it cites.

score = evidence x confirmation x support x min(1, retrieval / FULL_RETRIEVAL). Each
factor is 0-1 and any one near 0 means "not in the documents"; the threshold
`answer.min_answerability` is fitted on a calibration set (`rag eval` draws the
refusal curve and names the operating point).
"""

FULL_RETRIEVAL = 0.35  # cosine at which retrieval stops lowering the score


def signals(
    top_score: float, p_none: float, support: float, confirmation: float = 1.0
) -> dict[str, float]:
    """The factors of the score, each 0-1, as `Answer.signals` shows them."""
    return {
        "evidence": round(1.0 - p_none, 4),
        "confirmed": round(confirmation, 4),
        "support": round(support, 4),
        "retrieval": round(max(0.0, min(1.0, top_score / FULL_RETRIEVAL)), 4),
    }


def answerability(factors: dict[str, float]) -> float:
    score = 1.0
    for value in factors.values():
        score *= value
    return round(score, 4)
