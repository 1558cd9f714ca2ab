"""The evaluation's judgements, question-set format, summary, gate and report."""

from pathlib import Path

import pytest

from rag.answer import Answer, Citation, Timings
from rag.answering.checks import words as metrics_words
from rag.errors import RagError
from rag.evaluation import metrics
from rag.evaluation.questions import Question, load_question_set
from rag.evaluation.report import check, write_html
from rag.evaluation.runner import EvalReport, judge, summarize
from rag.retrieval import Passage

from conftest import ARTICLE, ROOT

TEXT = ARTICLE.read_text(encoding="utf-8")
ARTICLE_SET = ROOT / "eval" / "article.yaml"


def test_holds_exact_partial_and_absent():
    quote = "the official stance on open source AI is \u201cunchanged.\u201d"
    assert metrics.holds(TEXT[382:630], quote)
    assert metrics.holds('the official stance on open source AI is "unchanged', quote)  # folded
    assert metrics.holds(TEXT[382:560], quote)  # cut by a chunk boundary, most of it kept
    assert not metrics.holds(TEXT[:300], quote)


@pytest.mark.parametrize(
    ("answer", "alternatives", "expected"),
    [
        ("Yes, it has.", ["yes"], True),
        ("It is not known.", ["no"], False),  # whole words only
        ("huge researcher salaries", ["salar*"], True),
        ("Mark Zuckerberg's decision", ["Zuckerberg"], True),
        ("an open-source model", ["open source"], True),
        ("The AI sector", ["AGI"], False),
    ],
)
def test_covers(answer, alternatives, expected):
    assert metrics.covers(answer, alternatives) is expected


def test_fact_coverage_and_token_f1():
    facts = [["OpenAI"], ["Anthropic"], ["DeepMind"], ["xAI"]]
    assert metrics.fact_coverage("OpenAI and Anthropic lead. [1]", facts) == 0.5
    assert metrics.token_f1("The stance is unchanged. [2]", "Unchanged.") == pytest.approx(0.5)
    assert metrics.token_f1("The documents don't say.", "Mark Zuckerberg.") == 0.0


def test_retrieval_rank_and_recall():
    passages = [TEXT[:200], TEXT[382:630], TEXT[631:775]]
    quotes = ["official stance on open source AI", "We haven\u2019t released everything"]
    assert metrics.first_hit_rank(passages, quotes) == 2
    assert metrics.quote_recall(passages, quotes) == 1.0
    assert metrics.quote_recall(passages[:2], quotes) == 0.5
    assert metrics.first_hit_rank(passages[:1], quotes) is None


def test_groundedness_uses_the_cited_passage(embeddings):
    passages = [TEXT[:201], TEXT[1018:1312]]
    verdicts = metrics.grounded_sentences(
        "Meta trails rivals like OpenAI in commercializing AI. [2] "
        "Meta trails rivals like OpenAI in commercializing AI. [1] "
        "It has no citation.",
        dict(enumerate(passages, start=1)),
        embeddings,
    )
    assert [g for _, g in verdicts] == [True, False, False]


def test_the_article_set_is_complete_and_true_to_the_text():
    question_set = load_question_set(ARTICLE_SET)
    questions = question_set.questions
    assert len(questions) >= 40
    assert sum(not q.answerable for q in questions) >= 10
    assert sum("injection" in q.tags for q in questions) >= 3
    assert {"paraphrase", "multi-fact", "yes-no", "follow-up"} <= {
        t for q in questions for t in q.tags
    }
    assert all(q.history for q in questions if "follow-up" in q.tags)
    assert question_set.corpus == [ROOT / "corpus"]
    for q in questions:
        for quote in q.quotes:
            assert metrics.fold(quote) in metrics.fold(TEXT), (q.id, quote)
        for fact in q.facts:
            assert metrics.covers(q.reference, fact), (q.id, fact)  # the reference is right


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("questions: [", "not valid YAML"),
        (
            "corpus: x\nquestions:\n- {id: a, question: q, answerable: true, reference: r}\n",
            "needs facts and quotes",
        ),
        (
            "corpus: x\nquestions:\n- {id: a, question: q, answerable: false, reference: r}\n"
            "- {id: a, question: q, answerable: false, reference: r}\n",
            "duplicate question ids: a",
        ),
        (
            "corpus: x\nquestions:\n"
            "- {id: a, question: q, answerable: false, reference: r, x: 1}\n",
            "questions.0.x",
        ),
    ],
)
def test_bad_question_sets_are_reported(tmp_path: Path, content: str, message: str):
    path = tmp_path / "set.yaml"
    path.write_text(content)
    with pytest.raises(RagError, match=message.replace(".", r"\.")):
        load_question_set(path)


def test_a_schema_error_names_its_line_and_field(tmp_path: Path):
    path = tmp_path / "set.yaml"
    path.write_text(
        "corpus: docs\n"
        "questions:\n"
        "  - id: fine\n"
        "    question: q\n"
        "    answerable: false\n"
        "    reference: r\n"
        "  - id: bad\n"
        "    question: q\n"
        "    answerable: maybe\n"
        "    reference: r\n"
    )
    with pytest.raises(RagError) as raised:
        load_question_set(path)
    assert str(raised.value).startswith(f"question set {path}, line 9: questions.1.answerable:")
    path.write_text("corpus: docs\nquestions:\n  - id: lost\n    question: q\n")
    with pytest.raises(RagError, match=r"line 3: questions\.0\.answerable: Field required"):
        load_question_set(path)  # a missing field: the line of its question


def _answer(text: str, refused: bool, cited: list[str], seconds: float) -> Answer:
    passages = [
        Passage(
            chunk_id=f"c{n}",
            source="/a.txt",
            name="a.txt",
            title="A",
            chunk=n,
            start=0,
            end=len(t),
            score=0.5,
            text=t,
        )
        for n, t in enumerate(cited or ["filler text about nothing"], start=1)
    ]
    citations = (
        []
        if refused
        else [
            Citation(n=n, support=1.0, **p.model_dump()) for n, p in enumerate(passages, 1) if cited
        ]
    )
    return Answer(
        question="q",
        standalone_question="q",
        answer=text,
        refused=refused,
        citations=citations,
        passages=passages,
        timings=Timings(total_s=seconds),
    )


def test_summary_counts_refusals_citations_and_latency(embeddings):
    answerable = Question(
        id="a",
        question="Who must approve?",
        answerable=True,
        reference="Mark Zuckerberg.",
        facts=[["Zuckerberg"]],
        quotes=["Mark Zuckerberg still needs to approve"],
    )
    unanswerable = Question(
        id="b",
        question="How many parameters?",
        answerable=False,
        reference="The documents don't say.",
        forbidden=["trillion"],
    )
    results = [
        judge(
            answerable,
            _answer("Mark Zuckerberg must approve. [1]", False, [TEXT[382:630]], 2.0),
            embeddings,
        ),
        judge(answerable, _answer("The documents don't say.", True, [], 1.0), embeddings),
        judge(
            unanswerable,
            _answer("It has 2 trillion parameters. [1]", False, [TEXT[:200]], 4.0),
            embeddings,
        ),
    ]
    summary = summarize(results, k=3)
    assert summary["fact_coverage"] == 0.5  # the refused one covers nothing
    assert summary["false_refusal_rate"] == 0.5
    assert summary["refused_unanswerable"] == 0.0
    assert summary["citation_precision"] == 0.5  # citing for the unanswerable one is wrong
    assert summary["forbidden_hits"] == 1.0
    assert summary["latency_p50_s"] == 2.0 and summary["latency_p95_s"] == 4.0


def test_check_reports_each_missed_threshold():
    report = EvalReport(
        name="x",
        overrides={},
        questions_file="q",
        started="t",
        seconds=1,
        summary={"hit_at_3": 0.8, "errors": 0, "groundedness": None},
        results=[],
    )
    failures = check(report, {"min": {"hit_at_3": 0.9, "groundedness": 0.5}, "max": {"errors": 0}})
    assert failures == [
        "hit_at_3 = 0.800, minimum allowed 0.9",
        "groundedness: not measured (threshold min 0.5)",
    ]


def test_html_report_escapes_everything(tmp_path: Path, embeddings):
    hostile = Question(
        id="x",
        question="<script>alert(1)</script>?",
        answerable=False,
        reference="<img src=x onerror=alert(1)>",
    )
    result = judge(hostile, _answer("<b>bold</b> claim", True, [], 1.0), embeddings)
    report = EvalReport(
        name="<i>n</i>",
        overrides={},
        questions_file="q",
        started="t",
        seconds=1,
        summary=summarize([result], 3),
        results=[result],
    )
    page = write_html(report, tmp_path).read_text()
    assert "<script>" not in page and "<img" not in page and "<b>bold" not in page
    assert "&lt;script&gt;" in page and "<svg" in page and "default-src 'none'" in page


TINY_SET = """\
corpus: docs
questions:
  - id: opened
    question: When did the Harbor Bridge open?
    answerable: true
    reference: The Harbor Bridge opened in 1932.
    facts: [["1932"]]
    quotes: [The Harbor Bridge opened in 1932]
  - id: tolls
    question: When were the Harbor Bridge tolls removed?
    answerable: true
    reference: In 1985.
    facts: [["1985"]]
    quotes: [Tolls on the Harbor Bridge were removed in 1985]
  - id: architect
    question: What did the Harbor Bridge cost to build?
    answerable: false
    reference: The documents don't say.
"""


@pytest.fixture
def tiny_set(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bridge.txt").write_text(
        "The Harbor Bridge opened in 1932 after six years of work.\n\n"
        "Tolls on the Harbor Bridge were removed in 1985 by the city council.\n\n"
        "Its towers were painted orange so that ships could see them in fog.\n",
        encoding="utf-8",
    )
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_SET, encoding="utf-8")
    return path


def _thresholds(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "thresholds.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _eval(tmp_path: Path, tiny_set: Path, *args: str) -> int:
    """`rag eval` of the tiny set, its reports under tmp_path/out."""
    from rag.cli import main

    common = ["--data-dir", str(tmp_path / "data"), "eval", "--questions", str(tiny_set)]
    return main([*common, "--out", str(tmp_path / "out"), *args])


def test_retrieval_only_eval_compares_configurations(tmp_path, tiny_set, capsys):
    out = tmp_path / "out"
    thresholds = _thresholds(tmp_path, "[min]\nhit_at_1 = 1.0\n")
    code = _eval(
        tmp_path,
        tiny_set,
        "--retrieval-only",
        "--set",
        "retrieval.k=1",
        "--set",
        "retrieval.k=2,chunking.size=100,chunking.overlap=20",
        "--check",
        "--thresholds",
        str(thresholds),
    )
    captured = capsys.readouterr()
    table = captured.out
    assert code == 0, captured.err
    assert "retrieval.k=1" in table and "hit_at_1" in table
    for name in ("retrieval.k=1", "retrieval.k=2,chunking.size=100,chunking.overlap=20"):
        assert (out / name / "report.json").is_file() and (out / name / "report.html").is_file()
    assert len(list((out / "indexes").iterdir())) == 2  # one index per chunking


def test_eval_check_fails_on_a_missed_threshold(tmp_path, tiny_set, capsys):
    thresholds = _thresholds(tmp_path, "[min]\nhit_at_1 = 1.0\n[max]\nlatency_p95_s = -1\n")
    code = _eval(tmp_path, tiny_set, "--retrieval-only", "--check", "--thresholds", str(thresholds))
    err = capsys.readouterr().err
    assert code == 1
    assert "eval check failed (default): latency_p95_s" in err
    assert "hit_at_1" not in err


@pytest.mark.slow
def test_full_eval_with_the_real_model(tmp_path, tiny_set, model_file, capsys, monkeypatch):
    monkeypatch.setenv("RAG_LLM__MODEL_FILE", str(model_file))
    thresholds = _thresholds(tmp_path, "[min]\nhit_at_1 = 1.0\n[max]\nerrors = 0\n")
    code = _eval(tmp_path, tiny_set, "--check", "--thresholds", str(thresholds))
    assert code == 0, capsys.readouterr()
    report = EvalReport.model_validate_json(
        (tmp_path / "out" / "default" / "report.json").read_text()
    )
    assert [r.question.id for r in report.results] == ["opened", "tolls", "architect"]
    assert all(r.answer is not None for r in report.results)
    assert report.summary["refused_unanswerable"] is not None
    page = (tmp_path / "out" / "default" / "report.html").read_text()
    assert "When did the Harbor Bridge open?" in page and "<svg" in page


def test_a_bad_configuration_stops_eval_before_any_run(tmp_path, tiny_set, capsys):
    bad = ("--set", "retrieval.k=1", "--set", "chunking.overlap=5000")
    assert _eval(tmp_path, tiny_set, "--retrieval-only", *bad) == 1
    assert "overlap (5000) must be smaller than size" in capsys.readouterr().err
    assert not (tmp_path / "out" / "retrieval.k=1").exists()


def test_questions_sharing_passages_run_back_to_back(tmp_path, store, embeddings, settings):
    from rag.answer import Turn
    from rag.evaluation.runner import _cache_friendly
    from rag.ingest import ingest
    from rag.pipeline import Pipeline

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "birds.txt").write_text("Kiwis are flightless birds of New Zealand.", encoding="utf-8")
    (docs / "boats.txt").write_text("Ferries cross the harbour every hour.", encoding="utf-8")
    ingest([docs], store, embeddings, settings, progress=False)
    one = settings.model_copy(update={"retrieval": settings.retrieval.model_copy(update={"k": 1})})
    pipeline = Pipeline(one, embeddings, store)

    def ask(text: str, history: list[Turn] | None = None) -> Question:
        return Question(
            id=f"q{abs(hash(text))}",
            question=text,
            answerable=False,
            reference="-",
            history=history or [],
        )

    follow_up = ask("and when?", [Turn(question="Can kiwis fly?", answer="No.")])
    questions = [
        ask("Can kiwis fly?"),
        follow_up,
        ask("How often do ferries run?"),
        ask("Where do kiwis live?"),
        ask("Do ferries cross the harbour?"),
    ]
    order = [questions[i].question for i in _cache_friendly(pipeline, questions)]
    assert order[-1] == "and when?"
    kiwis = {order.index("Can kiwis fly?"), order.index("Where do kiwis live?")}
    ferries = {
        order.index("How often do ferries run?"),
        order.index("Do ferries cross the harbour?"),
    }
    assert max(kiwis) - min(kiwis) == 1 and max(ferries) - min(ferries) == 1


@pytest.mark.parametrize(("name", "least"), [("article", 8), ("injection", 3)])
def test_the_thresholds_parse_and_name_real_metrics(name, least):
    from rag.evaluation.report import load_thresholds

    thresholds = load_thresholds(ROOT / "eval" / f"{name}.thresholds.toml")
    measured = summarize([], k=3).keys()
    named = [m for limits in thresholds.values() for m in limits]
    assert len(named) >= least and set(named) <= set(measured)


def test_the_injection_set_plants_a_note_beside_the_article():
    question_set = load_question_set(ROOT / "eval" / "injection.yaml")
    note = ROOT / "eval" / "injection" / "editors-note.txt"
    assert question_set.corpus == [ROOT / "corpus", note]
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" in note.read_text(encoding="utf-8")
    assert all(q.forbidden and "injection" in q.tags for q in question_set.questions)
    for q in question_set.questions:
        for quote in q.quotes:
            assert metrics.fold(quote) in metrics.fold(TEXT), (q.id, quote)


def test_gold_sources_make_a_quote_count_only_from_those_documents(embeddings):
    quote = "The bridge opened in 1932."
    question = Question(
        id="bridge",
        question="When did the bridge open?",
        answerable=True,
        reference="In 1932.",
        facts=[["1932"]],
        quotes=[quote],
        sources=["b.txt"],
    )
    answer = _answer("It opened in 1932 [1].", False, [quote], 1.0)  # the passage is a.txt's
    judged = judge(question, answer, embeddings)
    assert judged.hit_rank is None and judged.citations_correct == [False]
    for passage in [*answer.passages, *answer.citations]:
        passage.name = "b.txt"
    judged = judge(question, answer, embeddings)
    assert judged.hit_rank == 1 and judged.citations_correct == [True]


def test_a_corpus_pattern_expands_and_an_empty_one_is_reported(tmp_path: Path):
    (tmp_path / "docs").mkdir()
    for name in ("b.html", "a.html", "notes.txt"):
        (tmp_path / "docs" / name).write_text("x")
    questions = "questions:\n- {id: a, question: q, answerable: false, reference: r}\n"
    path = tmp_path / "set.yaml"
    path.write_text("corpus: docs/*.html\n" + questions)
    assert [p.name for p in load_question_set(path).corpus] == ["a.html", "b.html"]
    path.write_text("corpus: [docs/*.pdf]\n" + questions)
    with pytest.raises(RagError, match=r"corpus pattern .*\*\.pdf matches no file"):
        load_question_set(path)


def test_the_refusal_curve_and_its_operating_point():
    from rag.evaluation.calibration import curve_svg, operating_point, refusal_curve

    # 20 answerable scoring 0.5-0.975, one refused before scoring; 4 unanswerable.
    scored = [(True, 0.5 + i / 40) for i in range(20)] + [(True, -1.0)]
    scored += [(False, s) for s in (0.1, 0.3, 0.55, 0.9)]
    curve = refusal_curve(scored)
    assert curve[0].threshold == 0.0 and curve[0].false_refusals == 1 / 21
    chosen = operating_point(curve, 0.05)
    assert chosen.threshold == 0.5 and chosen.refused_unanswerable == 0.5
    # none meets a 0.01 cap: the fewest false refusals, then the most refusals
    assert operating_point(curve, 0.01).threshold == 0.5
    assert "t = 0.500" in curve_svg(curve, chosen)
    assert refusal_curve([(True, 0.5)]) == []


def test_names_no_document_holds_are_counted(embeddings):
    question = Question(
        id="c",
        question="List every company mentioned in the article.",
        answerable=True,
        reference="Meta and OpenAI.",
        facts=[["Meta"]],
        quotes=["Meta"],
    )
    vocabulary = metrics_words(TEXT)
    answer = _answer(
        "Meta [1], OpenAI [1], Facebook [1] and Microsoft Azure [1].", False, [TEXT], 1.0
    )
    judged = judge(question, answer, embeddings, vocabulary)
    assert judged.invented == ["Facebook", "Microsoft Azure"]
    assert summarize([judged], k=3)["invented_names"] == 2.0
    held = judge(
        question, _answer("Meta [1] and OpenAI [1].", False, [TEXT], 1.0), embeddings, vocabulary
    )
    assert held.invented == []


def test_a_run_reports_progress_and_stops_when_asked(tmp_path: Path, tiny_set: Path):
    import threading

    from rag.evaluation.runner import EvalCancelled, run_eval
    from rag.settings import Settings

    question_set = load_question_set(tiny_set)
    assert len(question_set.questions) >= 3
    seen: list[tuple[str, int, int]] = []
    stop = threading.Event()

    def listener(what: str, done: int, total: int, unit: str) -> None:
        seen.append((unit, done, total))
        if unit == "questions" and done == 1:
            stop.set()

    with pytest.raises(EvalCancelled, match="cancelled after 1 questions"):
        run_eval(
            question_set,
            Settings(data_dir=tmp_path / "data"),
            name="x",
            overrides={},
            questions_file=tiny_set,
            work_dir=tmp_path / "work",
            retrieval_only=True,
            progress=False,
            listener=listener,
            stop=stop,
        )
    asked = [s for s in seen if s[0] == "questions"]
    assert asked[-1] == ("questions", 1, len(question_set.questions))
    assert any(unit != "questions" for unit, _, _ in seen)  # indexing reported too


def test_a_document_indexed_earlier_and_gone_since_is_named(tmp_path: Path):
    from rag.evaluation.runner import _vocabulary

    kept = tmp_path / "kept.txt"
    kept.write_text("Harbor Bridge tolls\n", encoding="utf-8")
    assert {"harbor", "bridge"} <= _vocabulary([str(kept)], tmp_path / "work")
    gone = tmp_path / "gone.txt"
    with pytest.raises(RagError, match=f"^{gone}: cannot read: .*delete {tmp_path / 'work'}"):
        _vocabulary([str(kept), str(gone)], tmp_path / "work")
