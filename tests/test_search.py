import pytest

from rag.errors import RagError
from rag.ingest import ingest
from rag.retrieval import DenseRetriever, Passage, clean_query

from conftest import ARTICLE, CORPUS


@pytest.fixture
def corpus_store(store, embeddings, settings):
    ingest([CORPUS], store, embeddings, settings)
    return store


def test_spokesperson_question_finds_the_statement_in_the_top_3(corpus_store):
    docs = DenseRetriever(vectors=corpus_store.vectors, k=3).invoke(
        "What did the Meta spokesperson say?"
    )
    assert len(docs) == 3
    assert any(
        "unchanged" in d.page_content or "We plan to continue releasing" in d.page_content
        for d in docs
    )


def test_passages_carry_scores_and_exact_offsets(corpus_store):
    text = ARTICLE.read_text(encoding="utf-8")
    docs = DenseRetriever(vectors=corpus_store.vectors, k=5).invoke("Why was Behemoth delayed?")
    passages = [Passage.from_document(d) for d in docs]
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)
    assert any("underwhelming" in p.text for p in passages[:3])
    for p in passages:
        assert text[p.start : p.end] == p.text
        assert p.source == str(ARTICLE.resolve()) and p.chunk_id


def test_collection_uses_cosine_and_no_chroma_embedding_function(corpus_store):
    collection = corpus_store.vectors._collection
    assert collection.configuration_json["hnsw"]["space"] == "cosine"
    assert collection._embedding_function is None


def test_empty_index_returns_nothing(store):
    assert DenseRetriever(vectors=store.vectors, k=3).invoke("anything") == []


@pytest.mark.parametrize("query", ["", "   \n\t", "x" * 100_000])
def test_unusable_queries_are_refused(query):
    with pytest.raises(RagError):
        clean_query(query, 4000)
