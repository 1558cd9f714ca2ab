import pytest
from chromadb.errors import InternalError

from rag.errors import RagError
from rag.ingest import ingest
from rag.retrieval import HybridRetriever, Passage, clean_query

from conftest import ARTICLE, CORPUS

SPOKESPERSON = "What did the Meta spokesperson say?"


def retriever(store, mode: str = "hybrid", k: int = 3) -> HybridRetriever:
    return HybridRetriever(store=store, k=k, mode=mode)


@pytest.fixture
def corpus_store(store, embeddings, settings):
    ingest([CORPUS], store, embeddings, settings)
    return store


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_spokesperson_question_finds_the_statement_in_the_top_3(corpus_store, mode):
    docs = retriever(corpus_store, mode).invoke(SPOKESPERSON)
    assert len(docs) == 3
    assert any(
        "unchanged" in d.page_content or "We plan to continue releasing" in d.page_content
        for d in docs
    )


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_passages_carry_cosine_scores_and_exact_offsets(corpus_store, mode):
    text = ARTICLE.read_text(encoding="utf-8")
    docs = retriever(corpus_store, mode, k=5).invoke("Why was Behemoth delayed?")
    passages = [Passage.from_document(d) for d in docs]
    assert any("underwhelming" in p.text for p in passages[:3])
    for doc, p in zip(docs, passages, strict=True):
        assert text[p.start : p.end] == p.text
        assert p.source == str(ARTICLE.resolve()) and p.chunk_id
        assert -1.0 <= p.score <= 1.0
        assert "rrf" in doc.metadata
    if mode == "dense":
        scores = [p.score for p in passages]
        assert scores == sorted(scores, reverse=True)


def test_hybrid_fuses_both_rankings(corpus_store):
    docs = retriever(corpus_store, "hybrid", k=5).invoke("TechCrunch spokesperson stance")
    first = docs[0].metadata
    assert "rank_dense" in first and "rank_bm25" in first
    assert "TechCrunch" in docs[0].page_content  # the one word only keywords can match


def test_collection_uses_cosine_and_no_chroma_embedding_function(corpus_store):
    collection = corpus_store.vectors._collection
    assert collection.configuration_json["hnsw"]["space"] == "cosine"
    assert collection._embedding_function is None


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_empty_index_returns_nothing(store, mode):
    assert retriever(store, mode).invoke("anything at all") == []


@pytest.mark.parametrize("query", ["", "   \n\t", "x" * 100_000])
def test_unusable_queries_are_refused(query):
    with pytest.raises(RagError):
        clean_query(query, 4000)


def test_chunks_deleted_after_the_keyword_search_are_skipped(corpus_store):
    """An ingest may delete chunks between the keyword search and the fetch."""
    hybrid = retriever(corpus_store)
    query = "What did the Meta spokesperson say?"
    first = hybrid.invoke(query)
    corpus_store.vectors._collection.delete(ids=[first[0].id])  # vectors only, not keywords
    assert first[0].id in corpus_store.keywords.search(query, 20)
    after = hybrid.invoke(query)
    assert after and first[0].id not in {d.id for d in after}


def test_neighbours_join_a_hit_with_the_chunks_around_it(corpus_store):
    text = ARTICLE.read_text(encoding="utf-8")
    plain = retriever(corpus_store).invoke("Why was Behemoth delayed?")
    widened = HybridRetriever(store=corpus_store, k=3, neighbours=1).invoke(
        "Why was Behemoth delayed?"
    )
    assert [d.id for d in widened] == [d.id for d in plain]
    for hit, wide in zip(plain, widened, strict=True):
        p = Passage.from_document(wide)
        assert text[p.start : p.end] == p.text  # still exact offsets into the document
        assert hit.page_content in p.text and len(p.text) > len(hit.page_content)
        first_or_last = hit.metadata["chunk"] == 0 or hit.metadata["end"] == len(text.rstrip())
        assert wide.metadata["neighbours"] == (1 if first_or_last else 2)


def test_min_score_drops_weak_passages_and_mmr_diversifies(corpus_store):
    query = "What did the Meta spokesperson say?"
    ranked = HybridRetriever(store=corpus_store, k=10).invoke(query)
    cut = sorted(d.metadata["score"] for d in ranked)[len(ranked) // 2]
    kept = HybridRetriever(store=corpus_store, k=10, min_score=cut).invoke(query)
    assert kept and all(d.metadata["score"] >= cut for d in kept) and len(kept) < len(ranked)
    diverse = HybridRetriever(store=corpus_store, k=3, mmr_lambda=0.0).invoke(query)
    assert len(diverse) == 3 and [d.id for d in diverse] != [d.id for d in ranked[:3]]


def test_a_query_racing_the_first_write_is_tried_again(corpus_store, monkeypatch):
    """Chroma's reader fails until a first write's vector segment is on disk (seen
    when questions meet the first ingest); that race is retried, other errors are not."""
    vectors = corpus_store.vectors
    real = vectors.similarity_search_by_vector_with_relevance_scores
    failures = [InternalError("Error creating hnsw segment reader: Nothing found on disk")] * 2

    def racing(*args, **kwargs):
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(vectors, "similarity_search_by_vector_with_relevance_scores", racing)
    assert len(retriever(corpus_store, "dense").invoke(SPOKESPERSON)) == 3
    assert failures == []
    failures.append(InternalError("Error executing plan: something else"))
    with pytest.raises(InternalError, match="something else"):
        retriever(corpus_store, "dense").invoke(SPOKESPERSON)
