"""The evidence-first chain: number sentences, pick evidence, check it, answer from it.

1. The retrieved passages become numbered sentences (`sentences`).
2. The model picks the sentences that state the answer, as constrained JSON
   (`evidence`). A question asking for a number or a time whose picks hold none is
   refused (`checks`).
3. In the same conversation (nothing is read twice) the model starts an answer from
   the picked sentences; "The documents don't say" refuses (`answer.check_evidence`).
4. The answer quotes the picks, or the model writes one, checked sentence by sentence
   against the picks it cites (`compose`).
5. Retrieval, evidence, the step-3 verdict and support make the answerability score
   (`answerability`); below `answer.min_answerability` the answer is "not in the
   documents".
"""

import time
from collections.abc import Iterator
from typing import Any, ClassVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.prompts import ChatPromptTemplate

from rag.answer import REFUSAL, Answer, Outcome
from rag.answering.answerability import answerability, signals
from rag.answering.checks import is_yes_no_question, missing_answer_type
from rag.answering.compose import Composed, compose, extract, strip_yes_no
from rag.answering.evidence import EvidenceFormatError, confirm, select_evidence
from rag.answering.sentences import NumberedSentence, format_sentences, number_sentences
from rag.chain import Asked, Delta, Event, QAChain
from rag.grounding import declines
from rag.injection import WITHHELD, gives_orders
from rag.llm import llm_errors
from rag.prompts import load_prompt

DECLINE_PROBE_TOKENS = 6  # enough for "The documents don't say"


class EvidenceChain(QAChain):
    WARMUP: ClassVar[dict[str, str]] = {"sentences": "", "question": ""}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.evidence_prompt = load_prompt(self.settings.evidence_prompt)

    def warm_template(self) -> ChatPromptTemplate:
        return self.evidence_prompt

    def warm_inputs(self) -> dict[str, str]:
        return dict(self.WARMUP)  # the fast path's text is cached by its first question

    def _from_passages(self, asked: Asked) -> Iterator[Event]:
        started, llm, question, timings = asked.started, asked.llm, asked.question, asked.timings
        standalone, passages, top = asked.standalone, asked.passages, asked.top
        picked_numbers: list[int] = []

        def finish(
            outcome: Outcome,
            composed: Composed | None = None,
            reason: str | None = None,
            score: float | None = None,
            model_text: str | None = None,
            factors: dict[str, float] | None = None,
        ) -> Answer:
            timings.total_s = time.perf_counter() - started
            refused = outcome == "not_in_documents"
            return Answer(
                question=question,
                standalone_question=standalone,
                answer=REFUSAL if refused or composed is None else composed.text,
                refused=refused,
                refusal_reason=reason if refused else None,
                outcome=outcome,
                answerability=score,
                unanswered=composed.gaps if composed and not refused else [],
                evidence=picked_numbers,
                signals=factors or {},
                model_text=model_text,
                citations=[] if refused or composed is None else composed.citations,
                fixes=composed.fixes if composed else [],
                passages=passages,
                timings=timings,
            )

        if top is None or top < self.settings.min_score:
            best = "no passages" if top is None else f"the best scores {top:.2f}"
            yield finish("not_in_documents", reason=f"no passage is relevant enough ({best})")
            return

        sentences = number_sentences(passages)
        shown = {s.n: WITHHELD if gives_orders(s.text) else s.text for s in sentences}
        messages = self.evidence_prompt.format_messages(
            sentences=format_sentences(sentences, list(shown.values())), question=standalone
        )
        began = time.perf_counter()
        timings.attempts += 1
        try:
            with llm_errors(self.llm_where):
                evidence = select_evidence(llm, messages, list(shown), self.settings.constrain)
        except EvidenceFormatError as exc:
            timings.llm_s += time.perf_counter() - began
            yield finish("not_in_documents", reason=f"{exc} (asked twice)")
            return
        timings.llm_s += time.perf_counter() - began
        if not evidence.sentences:
            factors = signals(top, evidence.p_none, 0.0)
            yield finish(
                "not_in_documents",
                reason="no sentence of the passages answers it",
                score=answerability(factors),
                model_text=evidence.reply,
                factors=factors,
            )
            return
        picked_numbers = evidence.sentences
        picked = [sentences[n - 1] for n in evidence.sentences]
        if wanted := missing_answer_type(standalone, [s.text for s in picked]):
            reason = f"the question asks for {wanted} and the picked sentences hold none"
            yield finish("not_in_documents", reason=reason, model_text=evidence.reply)
            return
        text = evidence.reply
        confirmation = 1.0
        if self.settings.check_evidence != "off":
            began = time.perf_counter()
            confirmation = self._confirm(messages, evidence.reply, picked, shown, standalone, llm)
            timings.llm_s += time.perf_counter() - began
        if self.settings.compose == "extract":
            composed = extract(picked, passages)
            yield Delta(composed.text)
        else:
            ask = self._followup(self.settings.evidence_answer_prompt, picked, shown, standalone)
            followup = [*messages, AIMessage(content=evidence.reply), *ask]
            text = yield from self._generate(llm, followup, started, timings)
            composed = compose(
                text, picked, passages, standalone, self.settings.min_support, len(sentences)
            )
            if not composed.declined and not is_yes_no_question(standalone):
                composed.text = strip_yes_no(composed.text, composed.fixes)
        factors = signals(top, evidence.p_none, composed.support, confirmation)
        score = answerability(factors)
        shown_factors = ", ".join(f"{name} {value:.2f}" for name, value in factors.items())
        if composed.declined:
            reason = "the model found no answer in the sentences it picked"
            yield finish("not_in_documents", None, reason, score, text, factors)
            return
        if score < self.settings.min_answerability:
            reason = (
                f"answerability {score:.2f} is below {self.settings.min_answerability:.2f} "
                f"({shown_factors})"
            )
            yield finish("not_in_documents", None, reason, score, text, factors)
            return
        outcome: Outcome = "partial" if composed.gaps else "answered"
        yield finish(outcome, composed, score=score, model_text=text, factors=factors)

    def _confirm(
        self,
        messages: list[BaseMessage],
        reply: str,
        picked: list[NumberedSentence],
        shown: dict[int, str],
        question: str,
        llm: BaseChatModel,
    ) -> float:
        """Do the picked sentences answer the question? `decline`: the first words of an
        answer from them, 0 when they are "The documents don't say"; `yes_no`: the
        model's probability of Yes when asked."""
        how = self.settings.check_evidence
        prompt = (
            self.settings.evidence_check_prompt
            if how == "yes_no"
            else self.settings.evidence_answer_prompt
        )
        turn = [
            *messages,
            AIMessage(content=reply),
            *self._followup(prompt, picked, shown, question),
        ]
        with llm_errors(self.llm_where):
            if how == "yes_no":
                return confirm(llm, turn, self.settings.constrain)
            start = llm.bind(max_tokens=DECLINE_PROBE_TOKENS).invoke(turn)
        return 0.0 if declines(start.text) else 1.0

    def _followup(
        self, prompt: str, picked: list[NumberedSentence], shown: dict[int, str], question: str
    ) -> list[BaseMessage]:
        """The next turn of the evidence conversation, about the picked sentences (shown
        again, so the model need not find them among the others)."""
        if len(picked) == 1:
            do, which = "Does", f"sentence [{picked[0].n}]"
        else:
            numbers = ", ".join(f"[{s.n}]" for s in picked[:-1]) + f" and [{picked[-1].n}]"
            do, which = "Do", f"sentences {numbers}"
        evidence = " ".join(f"Sentence [{s.n}]: {shown[s.n]}" for s in picked)
        return load_prompt(prompt).format_messages(
            do=do, which=which, evidence=evidence, question=question
        )
