"""The evidence-first steps: sentence numbering, the evidence reply, the checks, outcomes."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage
from test_chain import ScriptedModel, ScriptedRetriever

from rag.answering.align import align_citations, unrepeated
from rag.answering.chain import EvidenceChain
from rag.answering.checks import missing_names, missing_numbers, names
from rag.answering.compose import compose
from rag.answering.evidence import EvidenceFormatError, grammar, p_none, parse_reply
from rag.answering.sentences import number_sentences, split_spans
from rag.chain import QAChain
from rag.grounding import check_answer
from rag.retrieval import Passage
from rag.settings import AnswerSettings

DOC = (
    "Meta finished training Behemoth. A company spokesperson told TechCrunch the stance is "
    "\u201cunchanged.\u201d The New York Times reported the shift.\nTesting stopped in 2024."
)


def passage(start: int, end: int, n: int = 0, source: str = "/d/a.txt") -> Passage:
    return Passage(
        chunk_id=f"c{n}",
        source=source,
        name=source.rsplit("/", 1)[-1],
        title="A",
        chunk=n,
        start=start,
        end=end,
        score=0.6,
        text=DOC[start:end],
    )


def test_sentences_keep_exact_offsets_and_overlapping_chunks_merge():
    first, second = passage(0, 120, 0), passage(60, len(DOC), 1)
    sentences = number_sentences([second, first])
    assert [s.n for s in sentences] == list(range(1, len(sentences) + 1))
    assert all(DOC[s.start : s.end] == s.text for s in sentences)
    assert [s.text for s in sentences] == [
        "Meta finished training Behemoth.",
        "A company spokesperson told TechCrunch the stance is \u201cunchanged.\u201d",
        "The New York Times reported the shift.",
        "Testing stopped in 2024.",
    ]
    # each names the best-ranked passage holding it whole
    assert [s.passage for s in sentences] == [2, 2, 1, 1]


def test_glued_sentences_are_split():
    text = "It was published in the 19th century.First for Women is a magazine."
    assert [text[a:b] for a, b in split_spans(text)] == [
        "It was published in the 19th century.",
        "First for Women is a magazine.",
    ]


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=400), st.data())
def test_every_numbered_sentence_is_its_source_span(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    p = Passage(
        chunk_id="c",
        source="/d/x",
        name="x",
        title="x",
        chunk=0,
        start=start,
        end=end,
        score=0.5,
        text=text[start:end],
    )
    for s in number_sentences([p]):
        assert text[s.start : s.end] == s.text and s.text.strip() == s.text and s.text


@pytest.mark.parametrize(
    ("reply", "picked"),
    [
        ('{"sentences": [3, 1]}', [1, 3]),
        ('```json\n{"sentences": []}\n```', []),
        ("none", []),
        ("2, 4", [2, 4]),
        ('{"sentences": [2, 2]}', [2]),
    ],
)
def test_evidence_replies_parse(reply, picked):
    assert parse_reply(reply, [1, 2, 3, 4, 5]) == picked


@pytest.mark.parametrize(
    "reply",
    ["The answer is in sentence two.", '{"sentences": [9]}', '{"sentences": ["x"]}', "{oops"],
)
def test_broken_evidence_replies_are_format_errors(reply):
    with pytest.raises(EvidenceFormatError):
        parse_reply(reply, [1, 2, 3, 4, 5])


def test_grammar_allows_only_the_numbered_sentences():
    rules = grammar([1, 2, 3])
    assert 'num ::= "3" | "2" | "1"' in rules and "[]" in rules


def test_p_none_reads_the_list_opening_token():
    def lp(token, p):
        import math

        return {"token": token, "logprob": math.log(p)}

    message = AIMessage(
        content='{"sentences": [2]}',
        response_metadata={
            "logprobs": {
                "content": [
                    {**lp('{"', 1.0), "top_logprobs": [lp('{"', 1.0)]},
                    {
                        **lp(" [", 0.7),
                        "top_logprobs": [lp(" [", 0.7), lp(" []", 0.2), lp(' ["', 0.1)],
                    },
                ]
            }
        },
    )
    assert p_none(message, [2]) == pytest.approx(0.2 / 0.9)
    assert p_none(AIMessage(content="[]"), []) == 1.0  # no log-probabilities: the reply decides


def test_names_are_capitalised_runs_and_quotes():
    runs, quoted = names("The spokesperson told The New York Times it is \u201cunchanged\u201d.")
    assert runs == ["New York Times"] and quoted == ["unchanged"]
    assert names("Meta trails OpenAI.")[0] == ["OpenAI"]  # a first word alone is no name


def test_worked_example_names_cannot_reach_an_answer():
    # prompts/evidence.txt's examples: the Lakeside Library and the architect Rosa Imai.
    evidence = ["Meta is rethinking its AI strategy.", "Meta trails OpenAI and xAI."]
    answer = "Meta, OpenAI, Rosa Imai and The Lakeside Library."
    assert missing_names(answer, evidence, "List every company.") == [
        "Rosa Imai",
        "Lakeside Library",
    ]
    assert missing_numbers("It has 100 billion parameters.", evidence, "How big?") == ["100"]


def whole(doc: str, name: str = "a") -> Passage:
    """All of `doc` as one retrieved passage of the document `/d/<name>`."""
    return Passage(
        chunk_id=name,
        source=f"/d/{name}",
        name=name,
        title=name,
        chunk=0,
        start=0,
        end=len(doc),
        score=0.6,
        text=doc,
    )


def sentences_of(*texts: str) -> list:
    return number_sentences([whole(" ".join(texts))])


def test_a_neighbouring_name_is_dropped_and_the_evidence_quoted():
    numbered = sentences_of(
        "The New York Times reported the shift.",
        "A company spokesperson told TechCrunch the stance is unchanged.",
    )
    picked = [numbered[1]]
    passages = [whole("x")]
    composed = compose("The New York Times [2].", picked, passages, "Which publication?", 0.6, 2)
    assert "New York Times" not in composed.text and composed.extractive
    assert "TechCrunch" in composed.text
    assert any("New York Times not in the evidence" in f.reason for f in composed.fixes)
    assert composed.citations[0].text == numbered[1].text


def test_a_wrong_citation_is_repointed_to_the_picked_sentence_holding_it():
    numbered = sentences_of("Behemoth was delayed.", "Tests showed underwhelming results.")
    passages = [whole("x")]
    composed = compose(
        "Tests showed underwhelming results [1].", numbered, passages, "Why?", 0.6, 2
    )
    assert composed.text == "Tests showed underwhelming results. [2]"
    assert composed.citations[0].text == "Tests showed underwhelming results."
    assert composed.fixes[0].reason == "[1] does not hold it"


def test_a_bare_yes_needs_a_cited_sentence():
    numbered = sentences_of("Meta trails OpenAI.")
    passages = [whole("x")]
    composed = compose("Yes. Rosa Imai agrees.", numbered, passages, "Is Meta ahead?", 0.6, 1)
    assert composed.extractive and composed.text == "Meta trails OpenAI. [1]".replace(
        " [1]", " [1]"
    )


def chain(replies: list[str], **answer) -> EvidenceChain:
    return EvidenceChain(
        ScriptedRetriever(), ScriptedModel(responses=replies), AnswerSettings(**answer)
    )


def test_three_outcomes():
    answered = chain(['{"sentences": [1]}', "Yes"]).invoke("When?")
    assert answered.outcome == "answered" and answered.citations[0].text.startswith("The bridge")
    assert answered.citations[0].start == 0
    assert answered.answer == "The bridge opened in 1932 after six years of work. [1]"
    written = chain(['{"sentences": [1]}', "Yes", "It opened in 1932 [1]."], compose="generate")
    assert written.invoke("When?").answer == "It opened in 1932. [1]"
    partial = chain(
        ['{"sentences": [1]}', "Yes", "It opened in 1932 [1]. The documents don't say who."],
        compose="generate",
    ).invoke("When did it open and who built it?")
    assert partial.outcome == "partial" and not partial.refused
    none = chain(['{"sentences": []}']).invoke("Who painted it?")
    assert none.outcome == "not_in_documents" and none.refused
    unconfirmed = chain(['{"sentences": [1]}', "The documents don't say."]).invoke("Who?")
    assert unconfirmed.refused and "confirmed 0.00" in unconfirmed.refusal_reason


def test_a_broken_evidence_reply_is_asked_again_then_refused():
    retried = chain(["sentence one", '{"sentences": [2]}', "Yes"])
    assert retried.invoke("When did tolls go?").outcome == "answered"
    broken = chain(["sentence one", "still prose"]).invoke("When did tolls go?")
    assert broken.refused and "asked twice" in broken.refusal_reason


def test_abbreviations_and_initials_do_not_end_sentences():
    text = "The minister is the Hon. Greg Hunt. David I. Arkin was a teacher. It ended."
    assert [text[a:b] for a, b in split_spans(text)] == [
        "The minister is the Hon. Greg Hunt.",
        "David I. Arkin was a teacher.",
        "It ended.",
    ]


def test_evidence_from_two_documents_cites_both():
    first = "The bridge opened in 1932. It has six lanes."
    second = "Tolls were removed in 1985."
    passages = [whole(first, "bridge.txt"), whole(second, "tolls.txt")]
    numbered = number_sentences(passages)
    composed = compose(
        "It opened in 1932 [1] and tolls were removed in 1985 [3].",
        numbered,
        passages,
        "When did it open and when did tolls go?",
        0.5,
        len(numbered),
    )
    assert {c.name for c in composed.citations} == {"bridge.txt", "tolls.txt"}
    assert [c.text for c in composed.citations] == [numbered[0].text, numbered[2].text]


# The classic chain cites passages; its citations are narrowed to sentences.

ARTICLE = (
    "The lab is shifting to a closed model, according to The New York Times. "
    "Meta delayed Behemoth after underwhelming tests. "
    "A company spokesperson told TechCrunch the stance is unchanged. "
    "Meta trails OpenAI, Anthropic and Google in commercializing AI."
)


def aligned(answer: str, question: str, *docs: Passage):
    passages = list(docs) or [whole(ARTICLE, "article.txt")]
    checked = check_answer(answer, passages, 0.6, question)
    return align_citations(checked, passages, question, 0.6), passages


def test_a_passage_citation_narrows_to_the_sentence_holding_the_claim():
    checked, passages = aligned("The spokesperson spoke to TechCrunch [1].", "Who did they tell?")
    assert checked.text == "The spokesperson spoke to TechCrunch. [1]"
    (citation,) = checked.citations
    assert citation.text == "A company spokesperson told TechCrunch the stance is unchanged."
    assert ARTICLE[citation.start : citation.end] == citation.text
    assert citation.passage == 1 and passages[0].text == ARTICLE  # the chunk stays context


def test_a_claim_from_two_sentences_cites_both_and_markers_are_renumbered():
    checked, _ = aligned(
        "Meta delayed Behemoth after underwhelming tests and trails OpenAI [1].", "Why?"
    )
    assert [c.text.split()[1] for c in checked.citations] == ["delayed", "trails"]
    assert checked.text.endswith("[1][2]")


def test_a_worked_example_name_drops_the_classic_answer():
    # prompts/answer.txt's example names: Rosa Imai, the Lakeside Library.
    question = "Which companies does the article name?"
    checked, _ = aligned("Meta trails OpenAI, Anthropic, Google and Rosa Imai [1].", question)
    assert checked.unsupported
    assert "Rosa Imai not in the cited passage" in checked.fixes[-1].reason


def test_sentence_citations_from_two_documents_cite_both():
    checked, _ = aligned(
        "The bridge opened in 1932 [1]. Tolls were removed in 1985 [2].",
        "When did it open and when did tolls go?",
        whole("The bridge opened in 1932. It has six lanes.", "bridge.txt"),
        whole("Tolls were removed in 1985.", "tolls.txt"),
    )
    assert [(c.name, c.text) for c in checked.citations] == [
        ("bridge.txt", "The bridge opened in 1932."),
        ("tolls.txt", "Tolls were removed in 1985."),
    ]


def test_the_classic_chain_cites_sentences_and_drops_an_unasked_yes():
    model = ScriptedModel(responses=["Yes, tolls were removed in 1985 [2]."])
    answer = QAChain(ScriptedRetriever(), model, AnswerSettings()).invoke("When did tolls go?")
    assert answer.answer == "Tolls were removed in 1985. [1]"
    assert answer.citations[0].passage == 2 and "yes/no removed" in answer.fixes[-1].reason
    passage_level = QAChain(
        ScriptedRetriever(),
        ScriptedModel(responses=["Tolls were removed in 1985 [2]."]),
        AnswerSettings(cite="passage"),
    ).invoke("When did tolls go?")
    assert passage_level.citations[0].n == 2


def test_an_answer_restating_a_yes_no_question_is_replaced_by_its_evidence():
    checked, _ = aligned(
        "Yes, Meta is ahead of OpenAI in commercializing AI [1].",
        "Is Meta ahead of OpenAI in commercializing AI?",
    )
    assert checked.text == "Meta trails OpenAI, Anthropic and Google in commercializing AI. [1]"
    assert "only restated the question" in checked.fixes[-1].reason
    held, _ = aligned("Yes, Meta delayed Behemoth [1].", "Did Meta delay Behemoth?")
    assert held.text == "Yes, Meta delayed Behemoth. [1]"  # its evidence holds every word


def test_a_neighbouring_fact_gives_way_to_the_sentence_the_question_asks_about():
    question = "Which publication did the company spokesperson speak to?"
    passages = [whole(ARTICLE)]
    before = check_answer("The New York Times [1].", passages, 0.6, question)
    checked = align_citations(before, passages, question, 0.6, "quote", neighbour_margin=1)
    assert "TechCrunch" in checked.text and "New York Times" not in checked.text
    assert "not what the question asks about" in checked.fixes[-1].reason
    dropped = align_citations(before, passages, question, 0.6, "drop", neighbour_margin=1)
    assert dropped.unsupported
    for off in (
        align_citations(before, passages, question, 0.6, "keep", neighbour_margin=1),
        align_citations(before, passages, question, 0.6, "quote"),
    ):
        assert "New York Times" in off.text


def test_a_list_looping_on_one_name_keeps_each_name_once():
    assert unrepeated("Meta, TechCrunch, Zuckerberg, Zuckerberg, Zuckerberg, Zuckerberg") == (
        "Meta, TechCrunch, Zuckerberg."
    )
    assert unrepeated("Meta, OpenAI and xAI trail.") == "Meta, OpenAI and xAI trail."


def test_a_hard_wrapped_sentence_is_one_sentence():
    text = (
        "The changes stashed away can be listed with\ngit stash list, and shown.\n"
        "Next line.\nHe said:\n\u201cquoted\u201d\n\nnew paragraph\ngoes on."
    )
    spans = split_spans(text)
    assert [text[a:b] for a, b in spans] == [
        "The changes stashed away can be listed with\ngit stash list, and shown.",
        "Next line.",
        "He said:",
        "\u201cquoted\u201d",
        "new paragraph\ngoes on.",
    ]
