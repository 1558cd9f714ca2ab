"""One typed settings object: defaults, then `rag.toml`, then `RAG_*` environment variables.

Nested sections map to env names with a double underscore, e.g. `retrieval.k` is
`RAG_RETRIEVAL__K`. `RAG_CONFIG` points at a TOML file other than `./rag.toml`.
"""

import difflib
import os
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from rag.errors import RagError

DEFAULT_CONFIG_FILE = "rag.toml"
# RAG_* variables that are not settings fields.
_CONTROL_ENV = frozenset({"RAG_CONFIG", "RAG_DEBUG"})


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChunkingSettings(_Section):
    size: int = Field(600, ge=50, le=20_000, description="Target chunk length in characters.")
    overlap: int = Field(100, ge=0, description="Characters shared by neighbouring chunks.")
    header: bool = Field(
        True,
        description="Embed and keyword-index each chunk under its document's title and "
        "section heading (the text shown stays the chunk's own).",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Self:
        if self.overlap >= self.size:
            raise ValueError(f"overlap ({self.overlap}) must be smaller than size ({self.size})")
        return self


class FormatSettings(_Section):
    """What the readers of PDFs, images, spreadsheets and slides may do and spend."""

    ocr: bool = Field(
        True,
        description="Read scanned PDF pages and images (.png, .jpg, .tiff) with Tesseract, "
        "when it is installed (apt-get install tesseract-ocr tesseract-ocr-eng).",
    )
    ocr_language: str = Field(
        "eng", pattern=r"^[a-z_]+(\+[a-z_]+)*$", description="Tesseract languages, e.g. eng+deu."
    )
    ocr_dpi: int = Field(300, ge=72, le=600, description="Resolution a page is read at.")
    ocr_min_confidence: float = Field(
        60.0, ge=0, le=100, description="Pages read with less (Tesseract's %) are reported."
    )
    ocr_page_timeout_s: float = Field(120.0, gt=0, description="Longest OCR of one page.")
    max_pages: int = Field(
        5_000, ge=1, description="Longest PDF, deck or image stack read; more is refused."
    )
    max_page_pixels: int = Field(
        60_000_000,
        ge=1_000_000,
        description="Largest page or image OCR renders (a 'bomb' page is skipped, reported).",
    )
    max_cells: int = Field(
        2_000_000, ge=1_000, description="Most spreadsheet or CSV cells read from one file."
    )


class EmbeddingSettings(_Section):
    model: Literal["minilm", "e5-small"] = Field(
        "minilm",
        description="minilm: the packaged all-MiniLM-L6-v2; e5-small: multilingual-e5-small "
        "in 4 bits (`make install-e5`). Changing it needs `rag ingest --rebuild`.",
    )
    model_path: Path | None = Field(
        None, description="minilm: a sentence-transformers folder; empty: the packaged MiniLM."
    )
    batch_size: int = Field(32, ge=1, le=4096)
    device: str = "cpu"
    query_runtime: Literal["onnx", "torch"] = Field(
        "onnx",
        description="minilm: how a question is embedded. onnx: ONNX Runtime, ~3x faster for "
        "one short text, the same vectors; torch: sentence-transformers, as documents are.",
    )
    onnx_dir: Path | None = Field(
        None, description="Where the ONNX export of the model is kept; empty: ~/.cache/rag/onnx."
    )


class StoreSettings(_Section):
    collection: str = Field("documents", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,60}[a-zA-Z0-9]$")
    index_batch_size: int = Field(256, ge=1, description="Chunks embedded and written per batch.")


class RetrievalSettings(_Section):
    k: int = Field(3, ge=1, le=100, description="Passages retrieved per question.")
    mode: Literal["dense", "bm25", "hybrid"] = Field(
        "hybrid", description="Vectors, keywords, or both fused by reciprocal rank."
    )
    candidates: int = Field(20, ge=1, le=1000, description="Per ranking, before fusion.")
    mmr: bool = Field(False, description="Pick passages for diversity too (MMR), not only rank.")
    mmr_lambda: float = Field(
        0.5, ge=0, le=1, description="MMR: 1 is pure relevance, 0 pure diversity."
    )
    min_score: float | None = Field(
        None, ge=-1, le=1, description="Drop passages whose cosine similarity is below this."
    )
    neighbours: int = Field(
        0, ge=0, le=5, description="Chunks on each side joined to each retrieved chunk."
    )
    section_chars: int = Field(
        0,
        ge=0,
        le=20_000,
        description="0: passages are the retrieved chunks; N: each is widened to its "
        "enclosing section (heading to heading), at most N characters (small-to-big).",
    )

    @model_validator(mode="after")
    def _one_widening(self) -> Self:
        if self.neighbours and self.section_chars:
            raise ValueError("set neighbours or section_chars, not both")
        return self


class LLMSettings(_Section):
    base_url: str | None = Field(
        None,
        description="An OpenAI-compatible server (vLLM, Ollama, llama.cpp, OpenAI), "
        "e.g. http://127.0.0.1:11434/v1. Empty means the embedded model.",
    )
    model: str = Field("local", description="Model name sent to the server.")
    api_key: SecretStr | None = None
    model_file: Path | None = Field(
        None, description="Embedded GGUF model; default <data_dir>/models/<packaged model>."
    )
    threads: int = Field(
        max(1, os.cpu_count() or 1), ge=1, le=256, description="llama.cpp generation threads."
    )
    batch_threads: int | None = Field(
        None, ge=1, le=256, description="llama.cpp prompt-reading threads (default: threads)."
    )
    context_size: int = Field(4096, ge=512, le=131_072, description="Tokens per request.")
    parallel: int = Field(
        1, ge=1, le=16, description="Requests the embedded model serves at once (batched)."
    )
    max_tokens: int = Field(160, ge=16, le=8192, description="Longest answer, in tokens.")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    timeout_s: float = Field(120.0, gt=0, description="Longest wait for a whole answer.")
    connect_timeout_s: float = Field(5.0, gt=0, description="Longest wait to reach a server.")


RouteChoice = Literal["auto", "passages", "document"]


class AnswerSettings(_Section):
    chain: Literal["evidence", "classic"] = Field(
        "classic",
        description="classic: one prompt, then the citation check; evidence: pick "
        "sentences, then answer from them (README, Evaluation, for how each measured).",
    )
    route: RouteChoice = Field(
        "auto",
        description="auto: summaries, lists and counts read whole documents, other "
        "questions their top passages; passages or document: always that.",
    )
    fast_path: bool = Field(
        True,
        description="When every document together fits `document_chars`, other questions "
        "read them all, from a prompt the model keeps cached, instead of top passages.",
    )
    document_chars: int = Field(
        6000,
        ge=500,
        le=200_000,
        description="Text read whole in one prompt; longer documents are read in sections "
        "of this size, then combined (map-reduce).",
    )
    summary_sentences: int = Field(7, ge=1, le=30, description="Most sentences in a summary.")
    summary_share: float = Field(
        0.33, gt=0, le=1, description="Summaries: about this share of the sentences (at least 3)."
    )
    summary_diversity: float = Field(
        0.3,
        ge=0,
        le=1,
        description="Summaries: 0 picks the most central sentences, higher spreads them.",
    )
    summary_position: float = Field(
        0.5,
        ge=0,
        le=2,
        description="Summaries: the bonus for a sentence near the document's start "
        "(1 for the first, falling to 0 for the last; 0 ignores where it stands).",
    )
    document_prompt: str = Field("document", description="Answers from whole documents.")
    cite: Literal["sentence", "passage"] = Field(
        "sentence",
        description="Classic chain: cite the sentences that hold each claim, or whole passages.",
    )
    misfits: Literal["quote", "drop", "keep"] = Field(
        "quote",
        description="Classic chain, sentence citations: an answer sentence that only "
        "restates the question (or misses `neighbour_margin`) is replaced by a quote of "
        "the sentence matching the question best, or dropped, or kept.",
    )
    neighbour_margin: int = Field(
        0,
        ge=0,
        le=20,
        description="Classic chain: a cited sentence sharing this many fewer question "
        "words than another sentence of its passage is a misfit (0: off; README).",
    )
    compose: Literal["generate", "extract"] = Field(
        "extract",
        description="Evidence chain: the model writes the answer, or quotes the evidence.",
    )
    check_evidence: Literal["decline", "yes_no", "off"] = Field(
        "decline",
        description="Evidence chain: does the model find the answer in the sentences it "
        "picked? decline: it starts an answer from them and may say the documents don't "
        "say; yes_no: it is asked, and its probability of Yes is used; off: not asked.",
    )
    constrain: Literal["grammar", "json_schema", "off"] = Field(
        "grammar",
        description="How the evidence reply is constrained: llama.cpp grammar (llama.cpp "
        "servers), an OpenAI json_schema response format (vLLM, OpenAI), or not at all.",
    )
    min_answerability: float = Field(
        0.4, ge=0, le=1, description="Refuse below this answerability score (evidence chain)."
    )
    evidence_prompt: str = Field("evidence", description="Picks the evidence sentences.")
    evidence_check_prompt: str = Field(
        "evidence_check", description="Asks whether the picked sentences state the answer."
    )
    evidence_answer_prompt: str = Field(
        "evidence_answer", description="Asks for the answer from the picked sentences."
    )
    prompt: str = Field("answer", description="prompts/<name>.txt for answers (classic).")
    retry_prompt: str = Field(
        "answer_retry", description="Asked when the model declines despite strong passages."
    )
    condense_prompt: str = Field("condense", description="Rewrites follow-ups to stand alone.")
    verify_prompt: str = Field(
        "verify", description="Asks the model whether the cited passages state the answer."
    )
    verify: bool = Field(False, description="Refuse answers the model's own check rejects.")
    min_score: float = Field(
        0.05, ge=-1, le=1, description="Refuse without asking the model below this top score."
    )
    retry_score: float = Field(
        0.45, ge=-1, le=1, description="Retry a declined answer when the top score reaches this."
    )
    min_support: float = Field(
        0.6, ge=0, le=1, description="Share of a sentence's content words its passage must hold."
    )
    min_retry_overlap: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the question's content words a retried answer must repeat.",
    )
    focus_sentences: int = Field(
        0,
        ge=0,
        le=200,
        description="Sentences shown to the model across all passages (0: whole passages).",
    )
    max_question_chars: int = Field(4000, ge=10, le=1_000_000)


class UISettings(_Section):
    host: str = Field("127.0.0.1", description="Interface to bind; loopback unless asked.")
    port: int = Field(7860, ge=1, le=65535)
    auth: SecretStr | None = Field(
        None,
        description="user:password the browser must give; several users comma-separated "
        "(user1:pw1,user2:pw2), each with their own saved chats.",
    )
    max_upload_mb: int = Field(50, ge=1, le=10_000, description="Largest file one upload takes.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="RAG_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    data_dir: Path = Field(Path(".rag"), description="Index, records and models live here.")
    chroma_url: str | None = Field(
        None,
        description="A Chroma server (`rag chroma-server`, `chroma run`) for the vectors, "
        "e.g. http://127.0.0.1:8000. Empty means the embedded store in <data_dir>/chroma.",
    )
    chunking: ChunkingSettings = ChunkingSettings()
    formats: FormatSettings = FormatSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    store: StoreSettings = StoreSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    llm: LLMSettings = LLMSettings()
    answer: AnswerSettings = AnswerSettings()
    ui: UISettings = UISettings()
    api_key: SecretStr | None = Field(
        None, description="Bearer token every /v1 API request must send (RAG_API_KEY)."
    )

    @field_validator("chroma_url")
    @classmethod
    def _http_host_port(cls, url: str | None) -> str | None:
        if not url:
            return None
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 (raises on a bad port)
        except ValueError:
            parts = parts._replace(netloc="")
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path.strip("/"):
            raise ValueError(f"wants http://HOST:PORT, got '{url}'")
        return url.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return (init_settings, env_settings, toml)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def records_db(self) -> Path:
        return self.data_dir / "records.sqlite"

    @property
    def keywords_dir(self) -> Path:
        return self.data_dir / "keywords"

    @property
    def chats_db(self) -> Path:
        return self.data_dir / "chats.sqlite"

    @property
    def extracted_dir(self) -> Path:
        """Text read out of PDFs, images and office files, kept so that showing a
        citation never reads (or OCRs) a file again."""
        return self.data_dir / "extracted"

    @property
    def uploads_dir(self) -> Path:
        """Where the browser's uploads are kept; part of the corpus, not of the index."""
        return self.data_dir / "uploads"

    @property
    def model_file(self) -> Path:
        from rag.model_files import MODEL_FILENAME

        return self.llm.model_file or self.data_dir / "models" / MODEL_FILENAME


def config_file() -> Path:
    return Path(os.environ.get("RAG_CONFIG", DEFAULT_CONFIG_FILE))


def known_env_names() -> set[str]:
    names = set(_CONTROL_ENV)
    for name, field in Settings.model_fields.items():
        names.add(f"RAG_{name.upper()}")
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            names.update(f"RAG_{name.upper()}__{sub.upper()}" for sub in section.model_fields)
    return names


def _check_env_names() -> None:
    """A misspelt variable would otherwise be ignored without a word."""
    known = known_env_names()
    for name in sorted(os.environ):
        if name.startswith("RAG_") and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise RagError(f"unknown setting {name}{hint}")


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning any invalid value into one readable line."""
    _check_env_names()
    path = config_file()
    if "RAG_CONFIG" in os.environ and not path.is_file():
        raise RagError(f"config file not found: {path} (from RAG_CONFIG)")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        message = first["msg"].removeprefix("Value error, ")
        raise RagError(f"invalid setting {where}: {message}") from None
    except ValueError as exc:  # a malformed rag.toml
        raise RagError(f"cannot read {path}: {exc}") from None
