"""The question's embedding through ONNX Runtime: the same weights, exported once.

A question is one short text. PyTorch spends most of its ~10 ms on such a call in
overhead (sentence-transformers' `encode`, its thread pool); ONNX Runtime gives the same
vector (cosine 0.9999999) in ~3 ms, which is a third of hybrid retrieval at 1M chunks.
Documents come in batches, where PyTorch is the faster here (README "Performance"), so
they stay with it: the two give the same vectors, so neither needs its own index.

Imported only when a question is embedded (it loads torch). The export (~10 s, once
per model per machine) goes to `embeddings.onnx_dir`, named by the weights' hash, under
a temporary name, and is renamed into place only once its vector for a probe text
matches PyTorch's.
"""

import os
import threading
import warnings
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from rag.errors import RagError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EXPORT_VERSION = 1  # bump when the exported graph changes
_PROBE = "Which sentence of the documents answers this question?"
_MIN_COSINE = 0.9999


def default_onnx_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "rag" / "onnx"


class OnnxQueryEncoder:
    """One text in, its unit vector out, through an ONNX Runtime session."""

    def __init__(self, model: "SentenceTransformer", model_file: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()  # OMP_NUM_THREADS, as torch
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._tokenizer = model.tokenizer
        self._max_length = model.max_seq_length
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, model: "SentenceTransformer", folder: Path, weights_sha: str
    ) -> "OnnxQueryEncoder":
        """The encoder for `model`, exported into `folder` first if it is not there yet;
        a RagError if it cannot be exported, or the file there cannot be loaded (it is
        removed, so the next process exports it again)."""
        model_file = folder / f"{weights_sha[:16]}-v{EXPORT_VERSION}.onnx"
        if not model_file.exists():
            return export(model, model_file)
        try:
            return cls(model, model_file)
        except Exception as exc:  # onnxruntime raises its own types for a damaged file
            model_file.unlink(missing_ok=True)
            raise RagError(f"cannot load {model_file}: {str(exc)[:200]}") from None

    def encode(self, text: str) -> list[float]:
        batch = self._tokenizer(
            [text], truncation=True, max_length=self._max_length, return_tensors="np"
        )
        feeds = {name: batch[name].astype(np.int64) for name in self._inputs}
        with self._lock:  # one session run at a time keeps its threads to their cores
            vector = self._session.run(None, feeds)[0][0]
        return (vector / np.linalg.norm(vector)).tolist()


def export(model: "SentenceTransformer", model_file: Path) -> OnnxQueryEncoder:
    """The whole sentence-transformers pipeline (transformer, pooling, normalisation)
    as one ONNX graph, so any model's own pooling comes with it; its encoder, checked."""
    sample = model.tokenizer(
        ["a question", "and a longer second one"], padding=True, return_tensors="pt"
    )
    names = list(sample.keys())
    partial = model_file.with_name(f"{model_file.name}.{os.getpid()}.tmp")
    try:
        model_file.parent.mkdir(parents=True, exist_ok=True)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python control flow
            torch.onnx.export(
                _Pipeline(model, names).eval(),
                tuple(sample[name] for name in names),
                str(partial),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={
                    **{n: {0: "batch", 1: "tokens"} for n in names},
                    "embedding": {0: "batch"},
                },
                opset_version=17,
                dynamo=False,
            )
        encoder = OnnxQueryEncoder(model, partial)
        expected = model.encode([_PROBE], normalize_embeddings=True)[0]
        if float(np.dot(encoder.encode(_PROBE), expected)) < _MIN_COSINE:
            raise ValueError("the export does not give the model's vectors")
        os.replace(partial, model_file)  # the open session has read the file already
        return encoder
    except Exception as exc:
        with suppress(OSError):
            partial.unlink(missing_ok=True)
        raise RagError(
            f"cannot export the embedding model to {model_file}: {str(exc)[:200]}"
        ) from None


class _Pipeline(torch.nn.Module):
    """Positional inputs in, the sentence embedding out: what the exporter traces."""

    def __init__(self, model: "SentenceTransformer", names: list[str]) -> None:
        super().__init__()
        self.model = model
        self.names = names

    def forward(self, *inputs: Any) -> Any:
        return self.model(dict(zip(self.names, inputs, strict=True)))["sentence_embedding"]
