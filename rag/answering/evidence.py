"""Step one of an answer: the model picks the sentences that state it, or none.

Its reply is constrained to `{"sentences": [n, ...]}` with n among the numbered
sentences (llama.cpp's grammar, or an OpenAI `json_schema` response format), so it is
never free text. Log-probabilities at the token that opens the list tell how sure the
model was that no sentence answers: the `p_none` signal of the answerability score.
"""

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage

from rag.errors import RagError

Constraint = Literal["grammar", "json_schema", "off"]
MAX_PICKED = 5


class EvidenceFormatError(RagError):
    """The model's reply is not a list of sentence numbers."""


@dataclass(frozen=True)
class Evidence:
    sentences: list[int]  # picked sentence numbers, in the order of the text, unique
    p_none: float  # the model's probability that no sentence answers
    reply: str  # what the model wrote


def grammar(allowed: Sequence[int]) -> str:
    """GBNF for `{"sentences": [..]}` holding only the allowed sentence numbers."""
    numbers = " | ".join(f'"{n}"' for n in sorted(allowed or [1], reverse=True))  # 12 before 1
    return (
        'root ::= "{\\"sentences\\": " list "}"\n'
        f'list ::= "[]" | "[" num ("," " "? num){{0,{MAX_PICKED - 1}}} "]"\n'
        f"num ::= {numbers}\n"
    )


def schema(allowed: Sequence[int]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "sentences": {
                "type": "array",
                "items": {"type": "integer", "enum": sorted(allowed)},
                "maxItems": MAX_PICKED,
            }
        },
        "required": ["sentences"],
        "additionalProperties": False,
    }


def _with_grammar(llm: BaseChatModel, rules: str) -> dict[str, Any]:
    """The model's own extra request fields (a benchmark's cache switch), plus the grammar."""
    return {**(getattr(llm, "extra_body", None) or {}), "grammar": rules}


def _text(message: AIMessage) -> str:
    return message.text if isinstance(message.text, str) else str(message.content)


def _token_logprobs(message: AIMessage) -> list[dict[str, Any]]:
    return (message.response_metadata.get("logprobs") or {}).get("content") or []


def constrained(llm: BaseChatModel, allowed: Sequence[int], how: Constraint) -> BaseChatModel:
    """The chat model bound to reply only with sentence numbers, and to report
    log-probabilities (top 5) for the p_none signal."""
    extra: dict[str, Any] = {"logprobs": True, "top_logprobs": 5, "max_tokens": 12 + 4 * MAX_PICKED}
    if how == "grammar":
        extra["extra_body"] = _with_grammar(llm, grammar(allowed))
    elif how == "json_schema":
        extra["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "evidence", "schema": schema(allowed), "strict": True},
        }
    return llm.bind(**extra)  # type: ignore[return-value]


_JSON = re.compile(r"\{.*\}", re.DOTALL)
_NONE = re.compile(r"^\W*(?:none|no sentences?|\[\s*\])\W*$", re.IGNORECASE)
_LIST = re.compile(r"^\W*\d+(?:\s*(?:,|and)\s*\d+)*\W*$")


def parse_reply(reply: str, allowed: Sequence[int]) -> list[int]:
    """Sentence numbers from the reply: JSON, a bare list, or "none". Anything else,
    or a number naming no sentence, is a format error (the caller retries once)."""
    text = reply.strip().removeprefix("```json").removeprefix("```").removesuffix("```").strip()
    numbers: list[Any]
    if match := _JSON.search(text):
        try:
            data = json.loads(match.group())
        except json.JSONDecodeError:
            raise EvidenceFormatError(
                f"the evidence reply is not valid JSON: {reply[:80]!r}"
            ) from None
        picked = data.get("sentences") if isinstance(data, dict) else None
        if not isinstance(picked, list):
            raise EvidenceFormatError(f"the evidence reply has no sentence list: {reply[:80]!r}")
        numbers = picked
    elif _NONE.match(text):
        numbers = []
    elif _LIST.match(text):
        numbers = [int(n) for n in re.findall(r"\d+", text)]
    else:
        raise EvidenceFormatError(f"the evidence reply is not a sentence list: {reply[:80]!r}")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        raise EvidenceFormatError(f"the evidence reply holds a non-number: {reply[:80]!r}")
    if bad := [n for n in numbers if n not in allowed]:
        raise EvidenceFormatError(f"the evidence reply names sentence {bad[0]}, not shown")
    return _without_runaway(sorted(set(numbers))[:MAX_PICKED])


def _without_runaway(picked: list[int]) -> list[int]:
    """A small model sometimes counts on ("[7, 8, 9, 10, 11]") past its evidence; four or
    more consecutive numbers keep only the first."""
    if len(picked) >= 4 and picked[-1] - picked[0] == len(picked) - 1:
        return picked[:1]
    return picked


def p_none(message: AIMessage, picked: Sequence[int]) -> float:
    """The model's probability of an empty list, read where the list opens: tokens
    starting "[]" against "[" followed by a number (others are not allowed there).
    Without log-probabilities (a server that returns none) the reply itself decides."""
    fallback = 0.0 if picked else 1.0
    content = _token_logprobs(message)
    for token in content:
        if "[" not in token["token"]:
            continue
        empty = some = 0.0
        for candidate in token.get("top_logprobs") or [token]:
            shape = candidate["token"].strip()
            probability = math.exp(candidate["logprob"])
            if shape.startswith("[]"):
                empty += probability
            elif shape == "[" or re.match(r"^\[\s*\d", shape):
                some += probability
        return empty / (empty + some) if empty + some > 0 else fallback
    return fallback


def select_evidence(
    llm: BaseChatModel, messages: list[BaseMessage], allowed: Sequence[int], how: Constraint
) -> Evidence:
    """Ask for the evidence; a reply that breaks the format is asked for once more
    (sampled, since the same prompt at temperature 0 gives the same reply)."""
    model = constrained(llm, allowed, how)
    error: EvidenceFormatError | None = None
    for attempt in range(2):
        bound = model if attempt == 0 else model.bind(temperature=0.7)
        message = bound.invoke(messages)
        reply = _text(message)
        try:
            picked = parse_reply(reply, allowed)
        except EvidenceFormatError as exc:
            error = exc
            continue
        return Evidence(sentences=picked, p_none=p_none(message, picked), reply=reply)
    assert error is not None
    raise error


YES_NO_GRAMMAR = 'root ::= "Yes" | "No"'


def p_yes(message: AIMessage) -> float:
    """The model's probability of Yes against No at its first token; without
    log-probabilities, its reply."""
    content = _token_logprobs(message)
    if content:
        yes = no = 0.0
        for candidate in content[0].get("top_logprobs") or [content[0]]:
            word = candidate["token"].strip().lower()
            if word.startswith("yes"):
                yes += math.exp(candidate["logprob"])
            elif word.startswith("no"):
                no += math.exp(candidate["logprob"])
        if yes + no > 0:
            return yes / (yes + no)
    return 1.0 if _text(message).strip().lower().startswith("yes") else 0.0


def confirm(llm: BaseChatModel, messages: list[BaseMessage], how: Constraint) -> float:
    """Ask whether the picked sentences state the answer: the probability of Yes."""
    extra: dict[str, Any] = {"logprobs": True, "top_logprobs": 5, "max_tokens": 2}
    if how == "grammar":
        extra["extra_body"] = _with_grammar(llm, YES_NO_GRAMMAR)
    return p_yes(llm.bind(**extra).invoke(messages))
