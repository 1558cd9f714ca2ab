"""The benchmark's own machinery (the figures themselves are printed, never asserted)."""

import json
from pathlib import Path

from rag.benchmarks.corpus import chunk_texts, unit_vectors, vocabulary
from rag.benchmarks.retrieval import grow, one_file_change, percentiles_ms
from rag.benchmarks.suite import check_targets
from rag.cli import main
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store import open_store


def test_the_synthetic_corpus_is_reproducible_and_addressable() -> None:
    texts = chunk_texts(20)
    assert texts == chunk_texts(20)
    assert chunk_texts(5, start=10) == texts[10:15]
    assert len(set(texts)) == 20
    assert all(400 < len(t) < 900 for t in texts)
    assert {"meta", "behemoth"} <= {w.lower() for w in vocabulary()[:200]}
    vectors = unit_vectors(4)
    assert vectors.shape == (4, 384)
    assert abs(float((vectors**2).sum(axis=1).max()) - 1.0) < 1e-5


def test_a_store_grows_to_size_once_and_answers_queries(tmp_path: Path, embeddings) -> None:
    settings = Settings(data_dir=tmp_path / "bench")
    pipeline = Pipeline(settings, embeddings, open_store(settings, embeddings))
    record = tmp_path / "built.json"
    grow(pipeline, 200, record=record)
    first = json.loads(record.read_text())
    assert first["chunks"] == 200 and first["store_build_s"] > 0
    grow(pipeline, 300, record=record)  # resumed: its time adds to the first run's
    assert json.loads(record.read_text())["store_build_s"] >= first["store_build_s"]
    grow(pipeline, 300)  # already there: nothing added
    assert pipeline.store.chunk_count() == 300
    assert sum(pipeline.store.sources().values()) == 300
    passages = pipeline.retriever().invoke("What did the Meta spokesperson say?")
    assert len(passages) == settings.retrieval.k
    assert any("rank_bm25" in p.metadata for p in passages)  # both rankings took part
    # The 1M section's one-file change: ingested, asked about, and taken out again.
    figures = one_file_change(pipeline, "What did the Meta spokesperson say?")
    assert figures["ingest_s"] > 0 and figures["first_question_s"] > 0
    assert pipeline.store.chunk_count() == pipeline.store.keywords.count() == 300


def test_percentiles_and_targets() -> None:
    assert percentiles_ms([0.01] * 19 + [1.0]) == {"p50_ms": 10.0, "p95_ms": 10.0}
    assert percentiles_ms([i / 1000 for i in range(1, 101)])["p95_ms"] == 95.0
    results = {"ingestion": {"ratio": 0.95}, "startup": {"peak_rss_mb": 4000.0}}
    checked = check_targets(results)
    assert checked["ingestion >= 0.9x raw encode"]["met"] is True
    assert checked["peak RSS of rag ui <= 3 GB"]["met"] is False
    assert not any("retrieval" in name for name in checked)  # not measured: not judged


def test_an_unknown_section_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["--data-dir", str(tmp_path), "bench", "--only", "speed"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("rag: error: no bench section speed (known: ingestion,")
    assert err.count("\n") == 1


def test_the_summary_benchmark_scores_lead_and_the_product_on_the_same_articles(capsys):
    from rag.benchmarks.summaries import main

    main(["--items", "3", "--position", "0.5", "--share", "0.33"])
    out = capsys.readouterr().out
    assert "3 HaluEval articles (items 0-4999" in out
    rows = [line for line in out.splitlines() if "share 0.33" in line]
    assert len(rows) == 2 and "lead" in rows[0] and "start 0.5" in rows[1]
    scores = [float(x) for x in rows[0].replace("│", " ").split()[-4:]]
    assert all(0 < x <= 1 for x in scores)
