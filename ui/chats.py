"""The Chat tab's saved chats: the side list, reopening, exports and feedback.

Every chat is saved as it goes (`rag.chats.store`), so a reload or a restart lists it
again. With a login, `request.username` keeps each user to their own chats. When the
store cannot be opened the chat still answers; the side list says why nothing is saved.
"""

import tempfile
from pathlib import Path

import gradio as gr

from rag.answer import Answer
from rag.chats.export import export
from rag.chats.records import SavedChat
from rag.chats.store import SavedChats
from ui.render import plain

# "Like" and "Dislike" render as thumbs; the others are notes under a flag icon.
NOTES = ("Wrong fact", "Should have refused", "Bad citation")
FEEDBACK = ("Like", "Dislike", *NOTES)
Messages = list[dict[str, str]]


def user_of(request: gr.Request | None) -> str:
    return (getattr(request, "username", None) or "") if request else ""


def answer_message(answer: Answer) -> dict[str, str]:
    label = "Partly answered: " if answer.outcome == "partial" else ""
    return {"role": "assistant", "content": plain(label + answer.answer)}


def choices(chats: SavedChats, user: str, search: str = "") -> list[tuple[str, str]]:
    if chats.store is None:
        return []
    return [(f"{c.title} · {c.updated:%b %d %H:%M}", c.id) for c in chats.store.chats(user, search)]


def feedback_of(chat: SavedChat) -> list[str | None]:
    """The chatbot's thumbs and flags as they were saved, one per answer."""
    shown: list[str | None] = []
    for item in chat.items:
        if item.rating == 1:
            shown.append("Like")
        elif item.rating == -1:
            shown.append(item.note if item.note in NOTES else "Dislike")
        else:
            shown.append(None)
    return shown


def messages_of(chat: SavedChat) -> Messages:
    shown: Messages = []
    for item in chat.items:
        shown += [{"role": "user", "content": plain(item.question)}, answer_message(item.answer)]
    return shown


def export_files(chat: SavedChat) -> tuple[str, str]:
    """The chat as Markdown and JSON files for the download buttons."""
    folder = Path(tempfile.mkdtemp(prefix="rag-chat-"))
    stem = "".join(ch if ch.isalnum() else "-" for ch in chat.title.lower())[:40].strip("-")
    paths = []
    for fmt in ("md", "json"):
        path = folder / f"{stem or 'chat'}.{fmt}"
        path.write_text(export(chat, fmt), encoding="utf-8")
        paths.append(str(path))
    return paths[0], paths[1]
