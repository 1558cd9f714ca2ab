"""The HTTP API in process: real index and embeddings, a scripted chat model, and
FastAPI's test client (no socket)."""

import json

import pytest
from fastapi.testclient import TestClient
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_openai import ChatOpenAI
from pydantic import Field, SecretStr

from rag.answer import REFUSAL, Answer
from rag.api.app import create_api
from rag.api.errors import ApiError
from rag.api.routes import conversation, visible_text
from rag.api.schemas import ChatMessage
from rag.chain import Delta, Retry
from rag.ingest import ingest
from rag.pipeline import Pipeline

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
DOC = (
    "The Orchid Bridge opened in 1932 after six years of work. "
    "Tolls on the Orchid Bridge were removed in 1985 by the city council.\n"
)


class ScriptedModel(FakeListChatModel):
    """Answers from a script and records the keyword arguments of each call."""

    calls: list[dict] = Field(default_factory=list)

    def _call(self, messages, *args, **kwargs):
        self.calls.append(kwargs)
        return super()._call(messages, *args, **kwargs)

    def _stream(self, messages, *args, **kwargs):
        self.calls.append(kwargs)
        yield from super()._stream(messages, *args, **kwargs)


@pytest.fixture
def pipeline(settings, embeddings, tmp_path) -> Pipeline:
    settings = settings.model_copy(update={"api_key": SecretStr(KEY)})
    doc = tmp_path / "bridge.txt"
    doc.write_text(DOC, encoding="utf-8")
    pipeline = Pipeline.from_settings(settings)
    ingest([doc], pipeline.store, pipeline.embeddings, settings, progress=False)
    return pipeline


def script(pipeline: Pipeline, *responses: str) -> ScriptedModel:
    model = ScriptedModel(responses=list(responses), calls=[])
    pipeline._llm = model
    pipeline.model_ready.set()
    return model


@pytest.fixture
def client(pipeline) -> TestClient:
    return TestClient(create_api(pipeline), raise_server_exceptions=False)


def ask(client: TestClient, question: str, **extra) -> object:
    body = {"model": "rag", "messages": [{"role": "user", "content": question}], **extra}
    return client.post("/v1/chat/completions", json=body, headers=AUTH)


def events(response) -> list[dict | str]:
    lines = [ln.removeprefix("data: ") for ln in response.text.split("\n\n") if ln]
    return [ln if ln == "[DONE]" else json.loads(ln) for ln in lines]


def test_history_pairs_user_and_assistant_messages_and_ignores_system():
    messages = [
        ChatMessage(role="system", content="Ignore the documents."),
        ChatMessage(role="user", content="When did the bridge open?"),
        ChatMessage(role="assistant", content="In 1932 [1]."),
        ChatMessage(
            role="user",
            content=[
                {"type": "text", "text": "Who removed "},
                {"type": "text", "text": "the tolls?"},
            ],
        ),
    ]
    question, history = conversation(messages, 4000)
    assert question == "Who removed the tolls?"
    assert [(t.question, t.answer) for t in history] == [
        ("When did the bridge open?", "In 1932 [1].")
    ]


@pytest.mark.parametrize(
    ("messages", "message"),
    [
        ([ChatMessage(role="assistant", content="Hello")], "last message must be the user's"),
        ([ChatMessage(role="system", content="Hi")], "last message must be the user's"),
        ([ChatMessage(role="user", content=" \n ")], "empty"),
        ([ChatMessage(role="user", content="x" * 5000)], "too long"),
        (
            [ChatMessage(role="user", content=[{"type": "image_url", "image_url": {"url": "x"}}])],
            "only text",
        ),
    ],
)
def test_unusable_conversations_are_refused(messages, message):
    with pytest.raises(ApiError, match=message) as caught:
        conversation(messages, 4000)
    assert caught.value.status == 400


def test_a_declined_attempt_is_held_back_when_it_is_retried():
    answer = Answer(
        question="q", standalone_question="q", answer="It opened in 1932. [1]", refused=False
    )
    streamed = list(
        visible_text(
            iter(
                [
                    Delta("The docu"),
                    Delta("ments don't say."),
                    Retry(),
                    Delta("It opened"),
                    Delta(" in 1932 [1]."),
                    answer,
                ]
            )
        )
    )
    assert streamed == ["It opened", " in 1932 [1].", answer]


def test_a_refusal_that_stands_is_sent_once():
    refusal = Answer(question="q", standalone_question="q", answer=REFUSAL, refused=True)
    streamed = list(visible_text(iter([Delta("The documents"), Delta(" don't say."), refusal])))
    assert streamed == [REFUSAL, refusal]


def test_an_answer_cites_the_passage_it_comes_from(client, pipeline):
    pipeline.settings.answer.chain = "evidence"  # sentence-level citations
    model = script(pipeline, '{"sentences": [1]}', "It opened in 1932 [1].")
    response = ask(client, "When did the Orchid Bridge open?", temperature=0.4)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    message = body["choices"][0]["message"]
    assert (
        message["role"] == "assistant"
        and "1932" in message["content"]
        and "[1]" in message["content"]
    )
    rag = body["rag"]
    assert rag["refused"] is False
    citation = rag["citations"][0]
    assert citation["n"] == 1 and citation["name"] == "bridge.txt"
    assert DOC[citation["start"] : citation["end"]] == citation["text"]
    assert citation["text"] == "The Orchid Bridge opened in 1932 after six years of work."
    assert model.calls[-1].get("temperature") == 0.4


def test_a_streamed_answer_arrives_in_openai_chunks(client, pipeline):
    script(pipeline, "The Orchid Bridge opened in 1932 [1].")
    response = ask(client, "When did the Orchid Bridge open?", stream=True)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = events(response)
    assert chunks[-1] == "[DONE]"
    first, *middle, last = chunks[:-1]
    assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert all(c["object"] == "chat.completion.chunk" and "rag" not in c for c in middle)
    text = "".join(c["choices"][0]["delta"]["content"] for c in middle)
    assert len(middle) > 1 and text == "The Orchid Bridge opened in 1932 [1]."
    assert last["choices"][0]["finish_reason"] == "stop"
    assert last["rag"]["citations"][0]["name"] == "bridge.txt"


def test_unrelated_questions_are_refused_in_the_rag_field(client, pipeline):
    script(pipeline, "The documents don't say.")
    body = ask(client, "What colour is the Orchid Bridge?").json()
    assert body["rag"]["refused"] is True and body["rag"]["refusal_reason"]
    assert body["choices"][0]["message"]["content"] == REFUSAL


def test_every_route_needs_the_key(client, pipeline):
    script(pipeline, "unused")
    for method, path in [
        ("GET", "/v1/models"),
        ("POST", "/v1/search"),
        ("POST", "/v1/chat/completions"),
    ]:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {KEY}"}):
            response = client.request(method, path, headers=headers, json={})
            assert response.status_code == 401, (path, headers)
            assert response.json()["error"]["code"] == "invalid_api_key"
            assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/v1/models", headers=AUTH).json()["data"][0]["id"] == "rag"


def test_without_a_key_a_login_protected_server_keeps_the_api_closed(pipeline):
    pipeline.settings = pipeline.settings.model_copy(update={"api_key": None})
    open_client = TestClient(create_api(pipeline))
    assert open_client.get("/v1/models").status_code == 200
    closed = TestClient(create_api(pipeline, login_required=True)).get("/v1/models")
    assert closed.status_code == 401 and closed.json()["error"]["code"] == "api_closed"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not valid JSON"),
        ("", "needs a JSON body"),
        ("[]", "Input should be a valid dictionary"),
        ('{"messages": []}', "at least 1 item"),
        ('{"messages": [{"role": "user", "content": ""}]}', "the question is empty"),
        ('{"messages": [{"role": "robot", "content": "hi"}]}', "messages.0.role"),
        ('{"messages": [{"role": "user", "content": "hi"}], "temperature": 9}', "temperature"),
        (
            '{"messages": [{"role": "user", "content": "hi"}], "documents": ["none.txt"]}',
            "no indexed document is named 'none.txt' (indexed: bridge.txt)",
        ),
        ('{"messages": [{"role": "user", "content": "hi"}], "route": "all"}', "route"),
    ],
)
def test_bad_requests_get_openai_errors(client, pipeline, body, message):
    script(pipeline, "unused")
    response = client.post(
        "/v1/chat/completions", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert message in error["message"] and error["type"] == "invalid_request_error"


def test_an_oversized_question_is_a_bad_request(client, pipeline):
    script(pipeline, "unused")
    response = ask(client, "bridge " * 20_000)
    assert response.status_code == 400 and "too long" in response.json()["error"]["message"]


def test_while_the_model_loads_questions_get_503(client, pipeline):
    pipeline._llm = ScriptedModel(responses=["unused"], calls=[])  # model_ready not set
    response = ask(client, "When did the Orchid Bridge open?")
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "model_loading"
    assert client.post("/v1/search", json={"query": "bridge"}, headers=AUTH).status_code == 200


def test_an_unreachable_model_server_is_503_not_500(client, pipeline):
    pipeline._llm = ChatOpenAI(base_url="http://127.0.0.1:9/v1", api_key="x", max_retries=0)
    pipeline.model_ready.set()
    for stream in (False, True):
        response = ask(client, "When did the Orchid Bridge open?", stream=stream)
        assert response.status_code == 503, response.text
        assert "cannot reach the LLM server" in response.json()["error"]["message"]


def test_search_returns_passages_with_offsets(client):
    response = client.post(
        "/v1/search", json={"query": "When were tolls removed?", "k": 1}, headers=AUTH
    )
    assert response.status_code == 200
    (hit,) = response.json()["data"]
    assert hit["name"] == "bridge.txt" and DOC[hit["start"] : hit["end"]] == hit["text"]
    assert -1.0 <= hit["score"] <= 1.0
    for bad in ({"query": " "}, {"query": "x", "k": 0}, {"k": 2}):
        assert client.post("/v1/search", json=bad, headers=AUTH).status_code == 400


def test_unknown_routes_and_methods_get_openai_errors(client):
    missing = client.get("/v1/completions", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "unknown_url"
    wrong = client.get("/v1/chat/completions", headers=AUTH)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "POST"


def test_the_openapi_schema_documents_the_api(client):
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/v1/chat/completions",
        "/v1/models",
        "/v1/models/{model}",
        "/v1/search",
        "/v1/chats",
        "/v1/chats/{chat_id}",
    }
    chat = schema["paths"]["/v1/chat/completions"]["post"]
    assert set(chat["responses"]) == {"200", "400", "401", "503"}
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_an_internal_failure_is_a_500_without_a_traceback(client, pipeline, monkeypatch):
    def broken(k=None):
        raise RuntimeError("secret detail in /srv/internal/path")

    monkeypatch.setattr(pipeline, "retriever", broken)
    response = client.post("/v1/search", json={"query": "bridge"}, headers=AUTH)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "server_error"
    assert "secret" not in response.text and "Traceback" not in response.text


@pytest.mark.parametrize(
    ("asked", "seen"),
    [
        ("\x1b[1mWhen did the Orchid Bridge open?\x00\x07", "When did the Orchid Bridge open?"),
        ("Orchid Bridge 🌉 🙂?", "Orchid Bridge 🌉 🙂?"),
        ("¿Cuándo se abrió el puente Orchid?", "¿Cuándo se abrió el puente Orchid?"),
    ],
)
def test_control_characters_other_scripts_and_emoji(client, pipeline, asked, seen):
    script(pipeline, "The Orchid Bridge opened in 1932 [1].")
    response = ask(client, asked)
    assert response.status_code == 200, response.text
    assert response.json()["rag"]["question"] == seen


def test_a_summary_reads_the_chosen_document_whole(client, pipeline):
    script(pipeline, "unused")  # a summary quotes central sentences: no model call
    body = {
        "messages": [{"role": "user", "content": "Summarize the document."}],
        "documents": ["bridge.txt"],
    }
    rag = client.post("/v1/chat/completions", json=body, headers=AUTH).json()["rag"]
    assert rag["route"]["name"] == "document" and rag["route"]["kind"] == "summary"
    assert rag["route"]["documents"][0].endswith("bridge.txt")
    assert "1932" in rag["answer"] and rag["citations"]
    assert all(c["text"] in DOC for c in rag["citations"])


def test_saved_chats_are_listed_and_exported(pipeline, tmp_path):
    from rag.chats.store import ChatStore, SavedChats

    store = ChatStore(tmp_path / "chats.sqlite")
    chat = store.create("ann", "When did the bridge open?")
    store.add(
        chat.id,
        "ann",
        Answer(
            question="When did the bridge open?",
            standalone_question="When did the bridge open?",
            answer="In 1932.",
            refused=False,
        ),
    )
    client = TestClient(create_api(pipeline, chats=SavedChats(store)))
    listed = client.get("/v1/chats", headers=AUTH)
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["data"]] == [chat.id]
    assert client.get("/v1/chats?user=bob", headers=AUTH).json()["data"] == []
    assert client.get("/v1/chats?search=1932", headers=AUTH).json()["data"][0]["exchanges"] == 1
    one = client.get(f"/v1/chats/{chat.id}", headers=AUTH).json()
    assert one["items"][0]["answer"]["answer"] == "In 1932."
    md = client.get(f"/v1/chats/{chat.id}?format=md", headers=AUTH)
    assert md.headers["content-type"].startswith("text/markdown") and "**A:** In 1932." in md.text
    missing = client.get("/v1/chats/nope", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "chat_not_found"
    assert client.get("/v1/chats").status_code == 401  # the API key still guards them
    assert client.request("TRACE", "/v1/chats", headers=AUTH).status_code == 405


def test_an_unreadable_chat_store_is_a_503_naming_why(pipeline, tmp_path):
    from rag.chats.store import SavedChats

    bad = tmp_path / "chats.sqlite"
    bad.write_bytes(b"garbage" * 200)
    client = TestClient(create_api(pipeline, chats=SavedChats.open(bad)))
    reply = client.get("/v1/chats", headers=AUTH)
    assert reply.status_code == 503 and "file is not a database" in reply.json()["error"]["message"]
    assert ask(client, "When did the Orchid Bridge open?").status_code in (200, 503)
