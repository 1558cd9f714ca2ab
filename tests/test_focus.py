from rag.focus import focus_passages
from rag.retrieval import Passage

TEXT = (
    "The bridge opened in 1932 after six years of work. Its towers are 227 metres tall. "
    "Tolls were removed in 1985. Engineers painted the towers orange for visibility in fog."
)


def _passage(text: str) -> Passage:
    return Passage(
        chunk_id="c",
        source="/b.txt",
        name="b.txt",
        title="B",
        chunk=0,
        start=0,
        end=len(text),
        score=0.5,
        text=text,
    )


def test_keeps_the_sentences_closest_to_the_question_in_order(embeddings):
    [shown] = focus_passages("Why are the towers orange?", [_passage(TEXT)], embeddings, 1)
    assert shown == "... Engineers painted the towers orange for visibility in fog."
    [two] = focus_passages(
        "How tall are the towers and what colour?", [_passage(TEXT)], embeddings, 2
    )
    assert two.startswith("... Its towers are 227 metres tall.")
    assert two.endswith("Engineers painted the towers orange for visibility in fog.")
    assert "Tolls" not in two and "1932" not in two


def test_short_passages_and_zero_keep_are_shown_whole(embeddings):
    short = _passage("One sentence only.")
    assert focus_passages("anything", [short], embeddings, 2) == ["One sentence only."]
    assert focus_passages("anything", [_passage(TEXT)], embeddings, 0) == [TEXT]
