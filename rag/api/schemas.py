"""The HTTP API's wire format: OpenAI's chat completion shapes plus one `rag` field.

Requests accept every OpenAI parameter so existing clients work unchanged; only
`messages`, `stream` and `temperature` change the answer. Responses carry the whole
`Answer` (citations, refusal, passages, timings) as `rag`, beside the usual fields.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.answer import Answer
from rag.chats.records import ChatInfo
from rag.retrieval import Passage

MODEL_ID = "rag"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None


class ChatRequest(BaseModel):
    """A chat completion request; the last message is the question, earlier user and
    assistant messages are the conversation it follows up on."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(MODEL_ID, description="Any value; one model answers.")
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    stream: bool = Field(False, strict=True)
    temperature: float | None = Field(None, ge=0, le=2, strict=True)
    documents: list[str] = Field(
        [],
        max_length=1000,
        description="Answer only from these documents: file names or paths, as "
        "`rag.passages[].source` shows them; empty: all of them.",
    )
    route: Literal["auto", "passages", "document"] | None = Field(
        None,
        description="Read the top passages or whole documents; default: the server's "
        "answer.route (auto: summaries, lists and counts read whole documents).",
    )


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str = MODEL_ID
    choices: list[Choice]
    rag: Answer = Field(description="The checked answer with its citations and passages.")


def _absent_if_none(value: object) -> bool:
    return value is None


class Delta(BaseModel):
    role: Literal["assistant"] | None = Field(None, exclude_if=_absent_if_none)
    content: str | None = Field(None, exclude_if=_absent_if_none)


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str = MODEL_ID
    choices: list[ChunkChoice]
    rag: Answer | None = Field(
        None, exclude_if=_absent_if_none, description="Only on the last chunk."
    )


class Model(BaseModel):
    id: str = MODEL_ID
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "rag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


class ChatList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ChatInfo]


class SearchRequest(BaseModel):
    query: str = Field(pattern=r"\S", description="Words to search for; not blank.")
    k: int | None = Field(None, ge=1, le=100, strict=True, description="Default: retrieval.k.")


class SearchResponse(BaseModel):
    object: Literal["list"] = "list"
    query: str
    data: list[Passage]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
