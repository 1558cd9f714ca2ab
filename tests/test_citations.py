"""Citation parsing and the citation check, on hand-written answers (no model)."""

import pytest

from rag.citations import parse_answer, render
from rag.grounding import addresses, check_answer, declines
from rag.retrieval import Passage


def _passage(n: int, text: str) -> Passage:
    return Passage(
        chunk_id=f"id{n}",
        source="/docs/a.txt",
        name="a.txt",
        title="A",
        chunk=n,
        start=0,
        end=len(text),
        score=0.5,
        text=text,
    )


PASSAGES = [
    _passage(1, "The bridge opened in 1932 after six years of work."),
    _passage(2, "Tolls on the bridge were removed in 1985 by the city council."),
    _passage(3, "Engineers painted the towers orange to make them visible in fog."),
]


def test_no_marker():
    parsed = parse_answer("The bridge opened in 1932.", 3)
    assert [(s.text, s.cited) for s in parsed.sentences] == [("The bridge opened in 1932.", [])]
    assert parsed.out_of_range == []


def test_out_of_range_marker_is_reported_not_kept():
    parsed = parse_answer("The bridge opened in 1932 [7].", 3)
    assert parsed.sentences[0].cited == [] and parsed.out_of_range == [7]


def test_repeated_markers_count_once():
    parsed = parse_answer("Opened [1] in 1932 [1]. Tolls went in 1985 [2] [2].", 3)
    assert [s.cited for s in parsed.sentences] == [[1], [2]]
    assert parsed.cited == [1, 2]


@pytest.mark.parametrize(
    "answer",
    [
        "It opened [1, 2].",
        "It opened [1][2].",
        "It opened [1] [2].",
        "It opened [Passage 1, passage 2].",
        "It opened. [1][2]",
    ],
)
def test_marker_lists_and_runs(answer):
    parsed = parse_answer(answer, 3)
    assert [(s.text, s.cited) for s in parsed.sentences] == [("It opened.", [1, 2])]


def test_markers_after_the_full_stop_belong_to_the_sentence_before():
    parsed = parse_answer("It is \u201cunchanged.\u201d [2] Tolls went [1].", 3)
    assert [(s.text, s.cited) for s in parsed.sentences] == [
        ("It is \u201cunchanged.\u201d", [2]),
        ("Tolls went.", [1]),
    ]


def test_render_puts_markers_after_each_sentence():
    parsed = parse_answer("A fact [2]. Another, [1] [3].\nA line", 3)
    assert render(parsed.sentences) == "A fact. [2] Another. [1][3]\nA line"


def test_wrong_citation_is_re_pointed_and_recorded():
    checked = check_answer("Tolls were removed in 1985 [1].", PASSAGES, 0.6)
    assert not checked.unsupported and not checked.declined
    assert checked.text == "Tolls were removed in 1985. [2]"
    assert [c.n for c in checked.citations] == [2]
    assert checked.fixes[0].written == 1 and checked.fixes[0].now == 2


def test_uncited_sentence_gets_its_passage():
    checked = check_answer("The towers were painted orange for fog.", PASSAGES, 0.6)
    assert [c.n for c in checked.citations] == [3]
    assert checked.fixes[0].reason == "uncited sentence"


def test_invented_number_is_unsupported():
    checked = check_answer("The bridge opened in 1931 [1].", PASSAGES, 0.6)
    assert checked.unsupported and checked.citations == []


def test_unsupported_later_sentence_is_removed():
    answer = "The bridge opened in 1932 [1]. It cost 40 million dollars [1]."
    checked = check_answer(answer, PASSAGES, 0.6)
    assert checked.text == "The bridge opened in 1932. [1]"
    assert any("removed" in f.reason for f in checked.fixes)


def test_citation_that_adds_nothing_is_dropped():
    checked = check_answer("The bridge opened in 1932 [1][3].", PASSAGES, 0.6)
    assert [c.n for c in checked.citations] == [1]
    assert checked.fixes[0].written == 3 and checked.fixes[0].now is None


def test_out_of_range_only_citation_is_re_pointed():
    checked = check_answer("Tolls were removed in 1985 [9].", PASSAGES, 0.6)
    assert [c.n for c in checked.citations] == [2]
    assert checked.fixes[0].reason == "[9] names no passage"


@pytest.mark.parametrize(
    "text",
    ["The documents don't say.", "The passages do not mention the price.", "", "I don't know."],
)
def test_declines_are_recognised(text):
    assert declines(text)
    assert check_answer(text, PASSAGES, 0.6).declined


def test_a_real_answer_is_not_a_decline():
    assert not declines("The bridge opened in 1932 [1]. The documents don't say who built it.")


def test_answer_must_take_up_the_question_when_retried():
    assert addresses("When did the bridge open?", "The bridge opened in 1932.", 0.5)
    assert not addresses("How long is the bridge?", "Engineers painted the towers orange.", 0.5)


def test_words_from_the_question_are_not_claims():
    from rag.support import support

    passage = PASSAGES[2].text  # "Engineers painted the towers orange to make them visible in fog."
    question = "Why were the bridge towers given their colour?"
    answer = "The bridge towers were given their colour to make them visible in fog."
    assert support(answer, passage) < 0.6  # "bridge", "given", "colour" are not in it
    assert support(answer, passage, question) == 1.0
    assert support("The bridge towers were given their colour.", passage, question) < 0.6
    assert support("They were painted in 1931.", passage, "When were they painted?") == 0.0


def test_citation_moves_to_the_passage_that_supports_it_best():
    passages = [
        _passage(1, "The council met in 1985 and the bridge tolls were discussed at length."),
        _passage(2, "Tolls on the bridge were removed in 1985 by the city council."),
    ]
    checked = check_answer("The city council removed the bridge tolls in 1985 [1].", passages, 0.6)
    assert [c.n for c in checked.citations] == [2]
    assert checked.fixes[0].written == 1 and checked.fixes[0].now == 2
