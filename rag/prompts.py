"""Prompt templates from `prompts/*.txt`: `[system]`, `[user]` and `[assistant]` sections.

Sections become chat messages in file order, so worked examples can precede the real
question as earlier turns. The last section must be `[user]`. Templates use `{name}`
placeholders (LangChain f-string format); a literal brace is written twice.
"""

import re
from functools import cache
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

from rag.errors import RagError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_SECTION = re.compile(r"^\[(system|user|assistant)\]\s*$", re.MULTILINE)
_ROLES = {"system": "system", "user": "human", "assistant": "ai"}


@cache
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    path = directory / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise RagError(f"prompt not found: {path}") from None
    parts = _SECTION.split(text)
    sections = list(zip(parts[1::2], (body.strip() for body in parts[2::2]), strict=True))
    if not sections or sections[-1][0] != "user":
        raise RagError(f"prompt {path} must end with a [user] section")
    return ChatPromptTemplate.from_messages([(_ROLES[role], body) for role, body in sections])
