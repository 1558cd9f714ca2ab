"""A list answer, checked item by item: each item must be named by a sentence of the
documents, which it then cites; everything else the model wrote is dropped.

The model lists freely (it loops, repeats, and adds a famous name the text lacks); the
check keeps each name once, in the order written, and only where the documents hold
every word of it.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from rag.answering.checks import fold
from rag.answering.sentences import NumberedSentence
from rag.citations import MARKER

_SEPARATORS = re.compile(r",|;|\n|\band\b|\u2022|^\s*[-*]\s+|\s\d+\.\s", re.MULTILINE)
_LEAD = re.compile(
    r"^\s*(?:the (?:article|document|text|documents|sentences) (?:mentions?|names?|lists?)"
    r"|(?:they|it) (?:are|is)|these are|\d+\W+)[:\s]*",
    re.IGNORECASE,
)
MAX_ITEM_WORDS = 6
# A question asking for places; any other list (companies, people, models) holds no country.
_PLACES_ASKED = re.compile(
    r"\b(?:countr|nation|place|location|region|cit(?:y|ies)\b|states?\b|province|territor"
    r"|continent|capital|geograph|where\b)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Item:
    text: str
    sentence: NumberedSentence  # the first sentence that names it (the model's, if it does)


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", fold(text))


def _names(sentence: str, item: str) -> bool:
    """The sentence holds the item's words as a run ("Google DeepMind", not "Google"
    here and "DeepMind" there)."""
    words, held = _words(item), _words(sentence)
    return any(held[i : i + len(words)] == words for i in range(len(held) - len(words) + 1))


_CONNECTORS = {"of", "and", "the", "for", "de", "la", "von", "van", "&"}


def _is_name(item: Item) -> bool:
    words = [w for w in item.text.split() if w.lower() not in _CONNECTORS]
    return bool(words) and all(any(c.isupper() for c in w) for w in words)


def list_items(text: str, sentences: Sequence[NumberedSentence]) -> tuple[list[Item], list[str]]:
    """The items the documents hold, and those dropped (with why)."""
    by_n = {s.n: s for s in sentences}
    kept: list[Item] = []
    dropped: list[str] = []
    seen: set[str] = set()
    for raw in _SEPARATORS.split(text):
        cited = [int(n) for m in MARKER.finditer(raw) for n in re.findall(r"\d+", m.group(0))]
        item = _LEAD.sub("", MARKER.sub("", raw)).strip(" .:\"'\u201c\u201d()")
        key = _key(item)
        if not key or key in seen:
            continue
        seen.add(key)
        if len(key.split()) > MAX_ITEM_WORDS:
            dropped.append(f"{item[:40]}: not a list item")
            continue
        holder = next((by_n[n] for n in cited if n in by_n and _names(by_n[n].text, item)), None)
        holder = holder or next((s for s in sentences if _names(s.text, item)), None)
        if holder is None:
            dropped.append(f"{item}: not in the documents")
            continue
        kept.append(Item(item, holder))
    return kept, dropped


@cache
def countries() -> frozenset[str]:
    """Every country's short, common and official name, as `_words` folds them (ISO 3166
    through pycountry): "china", "people s republic of china"."""
    import pycountry

    names = (
        getattr(country, field, None)
        for country in pycountry.countries
        for field in ("name", "common_name", "official_name")
    )
    return frozenset(" ".join(_words(name)) for name in names if name)


def tidy(items: Sequence[Item], question: str = "") -> tuple[list[Item], list[str]]:
    """The items once each (from all sections), without one the question itself names
    ("Meta" among Meta's rivals), without a country where the question asks for no
    places (China among companies), without odd phrases in a list of names, and without
    a name that a longer one holds; and the dropped ones, with why."""
    first: dict[str, Item] = {}
    for item in items:
        first.setdefault(" ".join(_words(item.text)), item)
    asked = f" {' '.join(_words(question))} "
    dropped = [f"{i.text}: named by the question" for i in first.values() if _in(i, asked)]
    unique = [i for i in first.values() if not _in(i, asked)]
    if question and not _PLACES_ASKED.search(question):
        dropped += [f"{i.text}: a country" for i in unique if _key(i.text) in countries()]
        unique = [i for i in unique if _key(i.text) not in countries()]
    if sum(map(_is_name, unique)) * 2 >= len(unique):  # a list of names: drop the odd phrase
        dropped += [f"{i.text}: not a name like the others" for i in unique if not _is_name(i)]
        unique = [i for i in unique if _is_name(i)]
    # "Google" beside "Google DeepMind": the longer name stands for both.
    keys = [f" {' '.join(_words(i.text))} " for i in unique]
    kept = [
        i for i, k in zip(unique, keys, strict=True) if not any(k in o and k != o for o in keys)
    ]
    return kept, dropped


def _key(text: str) -> str:
    """An item's words without a leading article: "the New York Times" is "new york times"."""
    return " ".join(_words(re.sub(r"^(?:the|a|an)\s+", "", text, flags=re.IGNORECASE)))


def _in(item: Item, padded: str) -> bool:
    return f" {' '.join(_words(item.text))} " in padded


def looping(text: str, sentences: Sequence[NumberedSentence], repeats: int = 3) -> bool:
    """The last `repeats` finished items all repeat earlier ones, or none of them is in
    the documents: a small model that starts either keeps it up until it runs out of
    tokens (measured: a list of every country after the article's companies)."""
    raws = [MARKER.sub("", raw) for raw in _SEPARATORS.split(text)[:-1]]
    keys = [k for k in (" ".join(_words(raw)) for raw in raws) if k]
    if len(keys) <= repeats:
        return False
    earlier = set(keys[:-repeats])
    if all(k in earlier for k in keys[-repeats:]):
        return True
    held = " ".join(" ".join(_words(s.text)) for s in sentences)
    return not any(f" {k} " in f" {held} " for k in keys[-repeats:])
