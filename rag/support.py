"""Does a passage support a sentence? A lexical test, with no model involved.

A sentence is supported by a passage when most of its content words occur in it and
every number in it occurs there too. It is cheap, deterministic and explainable, and
it catches what this project's small model gets wrong: invented figures and names,
and citations that point at the wrong passage. Paraphrase with entirely new words
is not recognised; the evaluation measures how often that costs an answer.
"""

import re
import unicodedata
from functools import lru_cache

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his how
    i if in into is it its itself just me more most my myself no nor not now of off on
    once only or other our ours out over own same she should so some such than that the
    their theirs them themselves then there these they this those through to too under
    until up very was we were what when where which while who whom why will with would
    you your yours yourself yes according said says say told passage passages document
    documents""".split()
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    for suffix, replacement, min_len in (
        ("ies", "y", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("es", "", 5),
        ("s", "", 4),
    ):
        if word.endswith(suffix) and len(word) >= min_len:
            return word[: -len(suffix)] + replacement
    return word


def terms(text: str) -> list[str]:
    """Stemmed words and numbers without stopwords, in order: keyword-search terms."""
    text = unicodedata.normalize("NFKC", text).lower()
    found = []
    for word in _WORD.findall(text):
        if "'" in word or "\u2019" in word:
            word = _POSSESSIVE.sub("", word).replace("\u2019", "'")
        if word not in STOPWORDS:
            found.append(word if word.isdigit() else stem(word))
    return found


def content_words(text: str) -> set[str]:
    return {term for term in terms(text) if not term.isdigit()}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def support(claim: str, evidence: str, question: str = "") -> float:
    """Share of the claim's new content words found in the evidence; 0 if a number is not.

    Words the question itself used are not claims ("Why was the big model held back?"
    answered "The big model was held back because ..."), so they are set aside, and
    only what the answer adds must be in the evidence. Numbers always must.
    """
    claimed = numbers(claim)
    if claimed - numbers(evidence):
        return 0.0
    words = content_words(claim)
    if not words:
        return 1.0
    held = content_words(evidence)
    new = words - content_words(question)
    if new:
        return len(new & held) / len(new)
    if claimed - numbers(question):  # the answer is a number, and the evidence holds it
        return 1.0
    # Only the question's words again: a yes/no answer ("Yes, Meta finished training
    # it"), supported only if the evidence states all of it.
    return len(words & held) / len(words)


def has_content(sentence: str) -> bool:
    return bool(content_words(sentence) or numbers(sentence))
