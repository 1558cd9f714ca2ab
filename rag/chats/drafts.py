"""Answers rated down in the chat, written as draft questions for `rag eval`.

Each draft holds the question, its conversation so far, the answer given and the
user's note; its `reference`, `facts` and `quotes` are left for a person to fill in
(the question set refuses an answerable question without facts and quotes, so a draft
cannot be run half-written). A note saying the answer should have refused starts the
draft as unanswerable.
"""

from collections.abc import Sequence
from pathlib import Path

import yaml

from rag.chats.records import ChatInfo, SavedChat, SavedExchange

HEADER = """\
# Draft questions from answers rated down in the chat ({count}).
# For each: write the `reference` answer, the required `facts` (each a list of accepted
# alternatives) and the `quotes` from the documents that state them; or set
# `answerable: false` when the documents don't hold the answer. Then run:
#   rag eval --questions {path}
"""
SHOULD_REFUSE = ("refuse", "not in the document", "doesn't say", "does not say")


def _draft(item: SavedExchange, chat: SavedChat) -> dict[str, object]:
    refuse = any(w in (item.note or "").lower() for w in SHOULD_REFUSE)
    draft: dict[str, object] = {
        "id": f"feedback-{item.id}",
        "question": item.question,
        "answerable": not refuse,
        "reference": "",
        "facts": [],
        "quotes": [],
        "given": item.answer.answer,
        "note": item.note or "",
        "tags": ["feedback"],
    }
    if history := chat.turns(before=item.position):
        draft["history"] = [t.model_dump() for t in history]
    return draft


def write_drafts(
    path: Path,
    flagged: Sequence[tuple[ChatInfo, SavedExchange]],
    chats: dict[str, SavedChat],
    corpus: Sequence[str],
) -> int:
    """Writes the drafts to `path`; returns how many. `corpus`: the documents to index
    (absolute paths, so the file works from anywhere)."""
    drafts = [_draft(item, chats[info.id]) for info, item in flagged]
    body = yaml.safe_dump(
        {"corpus": list(corpus), "questions": drafts},
        sort_keys=False,
        allow_unicode=True,
        width=88,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER.format(count=len(drafts), path=path) + body, encoding="utf-8")
    return len(drafts)
