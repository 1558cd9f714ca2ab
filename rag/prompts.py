"""Prompt templates from `prompts/*.txt`: a `[system]` section and a `[user]` section.

Templates use `{name}` placeholders (LangChain f-string format); a literal brace is
written twice.
"""

import re
from functools import cache
from pathlib import Path

from langchain_core.prompts import ChatPromptTemplate

from rag.errors import RagError

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


@cache
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> ChatPromptTemplate:
    path = directory / f"{name}.txt"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise RagError(f"prompt not found: {path}") from None
    parts = _SECTION.split(text)
    sections = dict(zip(parts[1::2], (body.strip() for body in parts[2::2]), strict=True))
    if "user" not in sections:
        raise RagError(f"prompt {path} has no [user] section")
    roles = [("system", "system"), ("user", "human")]
    return ChatPromptTemplate.from_messages(
        [(role, sections[key]) for key, role in roles if sections.get(key)]
    )
