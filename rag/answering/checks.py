"""Checks on an answer sentence against the evidence it cites, beyond word overlap.

A small model's typical faults are a neighbouring fact (a name from another sentence),
a figure it made up, and a name carried over from the prompt's worked examples. Each
check here is a plain rule over the text, so every dropped sentence has a reason a user
can read:

- every name (a capitalised word or run of words, other than a sentence's first word;
  a quoted phrase) must occur in the cited sentences or in the question;
- every number must occur there too;
- a question asking for a number or a time needs one in its evidence.
"""

import re
import unicodedata
from collections.abc import Iterable

from rag.support import STOPWORDS, numbers

_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*|[^\w\s]")
_QUOTED = re.compile(r"[\"\u201c]([^\"\u201c\u201d]{3,}?)[\"\u201d]")
_POSSESSIVE = re.compile(r"['\u2019]s$", re.IGNORECASE)
_YES_NO_QUESTION = re.compile(
    r"^\W*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|shall"
    r"|may|might|must)\b",
    re.IGNORECASE,
)
# Capitalised words that say nothing by themselves.
_PLAIN = STOPWORDS | {"i", "yes", "no", "however", "also", "additionally"}


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = text.translate({0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"'})
    return re.sub(r"\s+", " ", text).strip().lower()


def _word(token: str) -> str:
    return _POSSESSIVE.sub("", token).lower()


def _is_capitalised(token: str) -> bool:
    return token[:1].isalpha() and any(c.isupper() for c in token)


def names(sentence: str) -> tuple[list[str], list[str]]:
    """The names of a sentence: runs of capitalised words (a sentence's first word only
    as part of a longer run, being capitalised anyway), and the quoted phrases."""
    quoted = [m.group(1).strip(" .,;:!?") for m in _QUOTED.finditer(sentence)]
    runs: list[str] = []
    run: list[str] = []
    at_start = starts = True
    for token in [*_TOKEN.findall(_QUOTED.sub(" ", sentence)), "."]:
        if token[:1].isalnum() and _is_capitalised(token):
            if not run:
                starts = at_start
            run.append(token)
        elif run:
            words = [w for w in run if _word(w) not in _PLAIN]
            if words and not (starts and len(run) == 1):
                runs.append(" ".join(words))
            run = []
        if token[:1].isalnum() or token in ".!?":
            at_start = token in ".!?"
    return runs, [q for q in quoted if q]


def words(text: str) -> set[str]:
    """The text's words, folded, possessives removed: what a name is checked against."""
    return {_word(t) for t in _TOKEN.findall(fold(text)) if t[:1].isalnum()}


def missing_names(sentence: str, evidence: Iterable[str], question: str) -> list[str]:
    """Names of the sentence that neither the evidence nor the question holds. A run
    passes when each of its words occurs ("Meta CEO Mark Zuckerberg" against "Meta's
    CEO Mark Zuckerberg"); a quoted phrase must occur as it stands."""
    known = " ".join([*evidence, question])
    held, text = words(known), fold(known)
    runs, quoted = names(sentence)
    return [n for n in runs if not words(n) <= held] + [q for q in quoted if fold(q) not in text]


def unknown_names(text: str, vocabulary: set[str]) -> list[str]:
    """The names (capitalised runs) of `text` with a word that `vocabulary` lacks."""
    found: list[str] = []
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        found += [n for n in names(sentence)[0] if not words(n) <= vocabulary and n not in found]
    return found


def missing_numbers(sentence: str, evidence: Iterable[str], question: str) -> list[str]:
    known = numbers(" ".join([*evidence, question]))
    return sorted(numbers(sentence) - known)


def is_yes_no_question(question: str) -> bool:
    return bool(_YES_NO_QUESTION.match(question))


# What a question asks for, by its wording, when that is a number or a time.
_ASKS_NUMBER = re.compile(
    r"\bhow (?:many|much|old|long|far|tall|big|large|often)\b"
    r"|\bwhat (?:number|percentage|share|amount|proportion|fraction)\b",
    re.IGNORECASE,
)
_ASKS_TIME = re.compile(
    r"^\W*when\b|\b(?:what|which) (?:year|month|day|date|decade|century|time)\b"
    r"|\bon what date\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty"
    r"|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?|millions?|billions?"
    r"|trillions?|dozens?|half|single|double|twice|once|first|second|third"
)
_HAS_NUMBER = re.compile(rf"\d|\b(?:{_NUMBER_WORDS})\b", re.IGNORECASE)
_HAS_TIME = re.compile(
    rf"\d|\b(?:{_NUMBER_WORDS})\b|\b(?:january|february|march|april|may|june|july|august"
    r"|september|october|november|december|monday|tuesday|wednesday|thursday|friday"
    r"|saturday|sunday|spring|summer|autumn|fall|winter|year|years|month|months|week|weeks"
    r"|day|days|decade|century|ago|last|next|today|yesterday|tomorrow|recently|soon|later"
    r"|earlier|before|after|since|until|during|now|currently)\b",
    re.IGNORECASE,
)


def missing_answer_type(question: str, evidence: Iterable[str]) -> str | None:
    """ "a number" or "a time" when the question asks for one and the evidence holds
    none: a sentence about the same thing that cannot be its answer."""
    text = " ".join(evidence)
    if _ASKS_NUMBER.search(question) and not _HAS_NUMBER.search(text):
        return "a number"
    if _ASKS_TIME.search(question) and not _HAS_TIME.search(text):
        return "a time"
    return None
