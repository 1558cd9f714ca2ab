"""A saved chat as Markdown (answers with numbered footnotes holding the cited
sentences and where they are) or as JSON (the whole record, every `Answer` in full)."""

import re
from typing import Literal

from rag.chats.records import SavedChat, SavedExchange
from rag.citations import MARKER

Format = Literal["md", "json"]
_DIGITS = re.compile(r"\d+")


def _quoted(text: str) -> str:
    return " ".join(text.split()).replace("]", "\\]")


def _answer_md(item: SavedExchange, notes: list[str]) -> str:
    """The answer with its `[n]` markers turned into footnotes numbered across the chat."""
    answer = item.answer
    by_n = {c.n: c for c in answer.citations}
    given: dict[int, int] = {}

    def footnote(n: int) -> str:
        if n not in given:
            c = by_n[n]
            notes.append(
                f'[^{len(notes) + 1}]: "{_quoted(c.text)}" ({c.where}, chars {c.start}-{c.end})'
            )
            given[n] = len(notes)
        return f"[^{given[n]}]"

    def replace(match: re.Match[str]) -> str:
        numbers = [int(d) for d in _DIGITS.findall(match.group(1))]
        if not all(n in by_n for n in numbers):
            return match.group()
        return "".join(footnote(n) for n in numbers)

    return MARKER.sub(replace, answer.answer)


def to_markdown(chat: SavedChat) -> str:
    lines = [
        f"# {chat.title}",
        "",
        f"*Saved chat `{chat.id}`, started {chat.created:%Y-%m-%d %H:%M} UTC, "
        f"{len(chat.items)} question{'s' * (len(chat.items) != 1)}.*",
    ]
    notes: list[str] = []
    for item in chat.items:
        lines += ["", f"**Q:** {item.question}", "", f"**A:** {_answer_md(item, notes)}"]
        if item.rating is not None:
            verdict = "helpful" if item.rating > 0 else "not helpful"
            lines += ["", f"*Feedback: {verdict}{f' ({item.note})' if item.note else ''}.*"]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def export(chat: SavedChat, format: Format) -> str:
    return to_markdown(chat) if format == "md" else chat.model_dump_json(indent=2) + "\n"
