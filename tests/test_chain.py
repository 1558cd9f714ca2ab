"""The chain's control flow with a scripted chat model: when it asks, retries, refuses."""

from collections.abc import Sequence

import pytest
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.retrievers import BaseRetriever
from pydantic import Field

from rag.answer import REFUSAL, Answer, Turn
from rag.chain import Delta, QAChain, Retry
from rag.errors import RagError
from rag.settings import AnswerSettings

TEXTS = [
    "The bridge opened in 1932 after six years of work.",
    "Tolls on the bridge were removed in 1985 by the city council.",
]


class ScriptedRetriever(BaseRetriever):
    score: float = 0.7
    queries: list[str] = Field(default_factory=list)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        self.queries.append(query)
        return [
            Document(
                id=f"c{n}",
                page_content=text,
                metadata={
                    "source": "/d/bridge.txt",
                    "name": "bridge.txt",
                    "title": "Bridge",
                    "chunk": n,
                    "start": 0,
                    "end": len(text),
                    "score": self.score - n / 10,
                },
            )
            for n, text in enumerate(TEXTS)
        ]


class ScriptedModel(FakeListChatModel):
    prompts: list[str] = Field(default_factory=list)

    def _call(self, messages, *args, **kwargs):
        self.prompts.append(messages[-1].content)
        return super()._call(messages, *args, **kwargs)

    def _stream(self, messages, *args, **kwargs):
        self.prompts.append(messages[-1].content)
        yield from super()._stream(messages, *args, **kwargs)


def make_chain(responses: Sequence[str], score: float = 0.7) -> tuple[QAChain, ScriptedModel]:
    """A chain with every gate on, the model's own check included."""
    model = ScriptedModel(responses=list(responses), prompts=[])
    retriever = ScriptedRetriever(score=score, queries=[])
    return QAChain(retriever, model, AnswerSettings(verify=True)), model


def test_answer_streams_then_arrives_checked():
    chain, model = make_chain(["The bridge opened in 1932 [2].", "Yes"])
    events = list(chain.stream("When did the bridge open?"))
    deltas = [e.text for e in events if isinstance(e, Delta)]
    answer = events[-1]
    assert isinstance(answer, Answer)
    assert "".join(deltas) == "The bridge opened in 1932 [2]."
    assert answer.answer == "The bridge opened in 1932. [1]"  # re-pointed: [2] holds no 1932
    assert not answer.refused and [c.n for c in answer.citations] == [1]
    assert answer.citations[0].text == TEXTS[0] and answer.fixes[0].now == 1
    assert answer.timings.first_token_s is not None
    assert answer.timings.total_s >= answer.timings.llm_s > 0
    assert (
        "[1] The bridge opened" in model.prompts[0]
        and "When did the bridge open?" in model.prompts[0]
    )


def test_weak_evidence_is_refused_without_asking_the_model():
    chain, model = make_chain(["unused"], score=0.02)
    answer = chain.invoke("What colour is the sky?")
    assert answer.refused and answer.answer == REFUSAL
    assert "relevant" in answer.refusal_reason
    assert model.prompts == []


def test_decline_with_strong_evidence_is_retried_once():
    chain, model = make_chain(
        ["The documents don't say.", "The bridge opened in 1932 [1].", "Yes."]
    )
    events = list(chain.stream("When did the bridge open?"))
    assert sum(isinstance(e, Retry) for e in events) == 1
    answer = events[-1]
    assert not answer.refused and answer.citations[0].n == 1
    assert len(model.prompts) == 3 and "The answer is in the passages" in model.prompts[1]


def test_retried_answer_about_something_else_is_refused():
    chain, _ = make_chain(["The documents don't say.", "Tolls were removed in 1985 [2]."])
    answer = chain.invoke("Who designed the bridge towers?")
    assert answer.refused and "do not answer the question" in answer.refusal_reason


def test_decline_with_middling_evidence_is_refused_without_retry():
    chain, model = make_chain(["The documents don't say."], score=0.35)
    answer = chain.invoke("Who designed the bridge?")
    assert answer.refused and len(model.prompts) == 1


def test_answer_the_models_check_rejects_is_refused():
    chain, model = make_chain(["The bridge opened in 1932 [1].", "No."])
    answer = chain.invoke("When was the bridge designed?")
    assert answer.refused and answer.refusal_reason == "the cited passages do not state this answer"
    assert answer.model_text == "The bridge opened in 1932 [1]."
    check = model.prompts[-1]
    assert "Proposed answer: The bridge opened in 1932." in check and TEXTS[0] in check


def test_the_models_check_is_off_by_default():
    model = ScriptedModel(responses=["The bridge opened in 1932 [1].", "No."], prompts=[])
    chain = QAChain(ScriptedRetriever(queries=[]), model, AnswerSettings())
    assert not chain.invoke("When was the bridge designed?").refused
    assert len(model.prompts) == 1


def test_invented_fact_is_refused():
    chain, _ = make_chain(["The bridge is 2,737 metres long [1]."])
    answer = chain.invoke("How long is the bridge?")
    assert answer.refused and answer.citations == []
    assert "do not support" in answer.refusal_reason


def test_follow_up_is_condensed_before_retrieval():
    chain, model = make_chain(
        ["When did the bridge open?", "The bridge opened in 1932 [1].", "Yes"]
    )
    history = [Turn(question="Tell me about the bridge.", answer="It spans the bay [1].")]
    answer = chain.invoke("and when did it open?", history)
    assert answer.standalone_question == "When did the bridge open?"
    assert "Tell me about the bridge." in model.prompts[0]  # the condense prompt saw history
    assert chain.retriever.queries[0].startswith("When did the bridge open?")
    assert not answer.refused


@pytest.mark.parametrize("question", ["", "   \n\t ", "\x00\x1b\x07", "x" * 100_000])
def test_unusable_questions_get_a_clear_message(question):
    chain, model = make_chain(["unused"])
    with pytest.raises(RagError) as raised:
        chain.invoke(question)
    assert "empty" in str(raised.value) or "too long" in str(raised.value)
    assert model.prompts == []


def test_control_characters_never_reach_the_model():
    chain, model = make_chain(["The bridge opened in 1932 [1]."])
    answer = chain.invoke("\x1b[31mWhen did\x00 the bridge open?\x07")
    assert answer.question == "When did  the bridge open?"
    assert not any(ord(c) < 32 and c != "\n" for c in model.prompts[0])


def test_warming_reads_the_fixed_prompt_start_and_never_raises():
    chain, model = make_chain(["x"])
    chain.warm()
    assert len(model.prompts) == 1
    assert model.prompts[0].startswith("Passages:") and "Question:" in model.prompts[0]
    broken, _ = make_chain([])  # the scripted model has nothing to say: it raises
    broken.warm()
