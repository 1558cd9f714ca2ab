"""eval/halueval.yaml: generated, deterministic, true to its gold passages; its
hallucinated answers are negatives the answer checks must catch."""

import filecmp
import json
from pathlib import Path

from rag.answering.checks import missing_names, missing_numbers
from rag.evaluation.halueval import DEVELOPMENT_ITEMS, write, write_retrieval
from rag.evaluation.questions import load_question_set

EVAL = Path(__file__).resolve().parent.parent / "eval"


def test_the_generator_rebuilds_the_committed_files(tmp_path):
    write(tmp_path)
    assert (tmp_path / "halueval.yaml").read_text() == (EVAL / "halueval.yaml").read_text()
    names = sorted(p.name for p in (EVAL / "halueval").glob("*.txt"))
    assert names == sorted(p.name for p in (tmp_path / "halueval").glob("*.txt"))
    match, mismatch, errors = filecmp.cmpfiles(EVAL / "halueval", tmp_path / "halueval", names)
    assert not mismatch and not errors and len(match) == len(names) >= 300
    negatives = (tmp_path / "halueval.negatives.jsonl").read_text()
    assert negatives == (EVAL / "halueval.negatives.jsonl").read_text()


def test_gold_sources_hold_their_quotes_and_left_out_passages_are_absent():
    question_set = load_question_set(EVAL / "halueval.yaml")
    corpus = {p.name: p.read_text(encoding="utf-8") for p in question_set.corpus}
    answerable = [q for q in question_set.questions if q.answerable]
    left_out = [q for q in question_set.questions if not q.answerable]
    assert len(corpus) >= 300 and len(answerable) >= 60 and len(left_out) >= 30
    for q in answerable:
        (source,) = q.sources
        assert q.quotes[0] in corpus[source]
        assert q.facts[0][0].lower() in q.quotes[0].lower()
    for q in question_set.questions:  # development items only
        assert int(q.id.removeprefix("hq-")) < DEVELOPMENT_ITEMS
    for q in left_out:
        assert f"halueval-{q.id.removeprefix('hq-')}.txt" not in corpus


def test_the_retrieval_set_is_every_development_passage_and_rebuilds_the_committed_file(
    tmp_path,
):
    corpus = tmp_path / "corpus"
    assert write_retrieval(tmp_path, corpus) == DEVELOPMENT_ITEMS
    committed = (EVAL / "halueval-retrieval.yaml").read_text()
    written = (tmp_path / "halueval-retrieval.yaml").read_text()
    # The same questions; only the corpus folder is named differently.
    assert written.replace(f"corpus: {corpus}/*.txt", "") == committed.replace(
        "corpus: ../.rag/halueval-retrieval/*.txt", ""
    )
    question_set = load_question_set(tmp_path / "halueval-retrieval.yaml")
    assert len(question_set.corpus) == DEVELOPMENT_ITEMS
    names = {p.name: p for p in question_set.corpus}
    assert len(question_set.questions) == 300
    for q in question_set.questions:
        assert q.answerable and q.quotes[0] in names[q.sources[0]].read_text(encoding="utf-8")


def test_the_checks_catch_hallucinated_names_and_numbers_but_pass_right_answers():
    rows = [json.loads(line) for line in (EVAL / "halueval.negatives.jsonl").open()]

    def flagged(answer: str, row: dict) -> bool:
        passage = [(EVAL / "halueval" / row["document"]).read_text(encoding="utf-8")]
        return bool(
            missing_names(answer, passage, row["question"])
            or missing_numbers(answer, passage, row["question"])
        )

    caught = sum(flagged(r["hallucinated_answer"], r) for r in rows)
    assert not any(flagged(r["right_answer"], r) for r in rows)
    # Measured 19 of 60: the rest reword the passage, which needs the support check.
    assert caught >= 0.25 * len(rows)
