"""The embedder through PyTorch, ONNX Runtime and int8, on the same texts (README
"Performance"): batches of documents, where PyTorch is the fastest.

    python -m rag.benchmarks.embedder_trial
"""

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

import rag  # noqa: F401  (the offline environment first)
from rag.benchmarks.corpus import chunk_texts
from rag.embeddings import packaged_model_path
from rag.query_encoder import export

Encoder = Callable[[list[str]], np.ndarray]


def onnx_encoder(model_file: Path, tokenizer: object, max_length: int) -> Encoder:
    """Batches through an export of `rag.query_encoder` (pooling inside the graph)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    inputs = [i.name for i in session.get_inputs()]

    def encode(texts: list[str], batch_size: int = 32) -> np.ndarray:
        out = []
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(  # type: ignore[operator]
                texts[i : i + batch_size],
                padding=True,
                truncation=True,
                max_length=max_length,
                return_tensors="np",
            )
            pooled = session.run(None, {k: batch[k].astype(np.int64) for k in inputs})[0]
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out)

    return encode


def main() -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    texts = chunk_texts(256)
    model = SentenceTransformer(str(packaged_model_path()), device="cpu")
    folder = Path(tempfile.mkdtemp())
    export(model, folder / "fp32.onnx")
    quantize_dynamic(folder / "fp32.onnx", folder / "int8.onnx", weight_type=QuantType.QInt8)
    encoders: dict[str, Encoder] = {
        "torch fp32": lambda t: model.encode(t, batch_size=32, normalize_embeddings=True),
        "onnx fp32": onnx_encoder(folder / "fp32.onnx", model.tokenizer, model.max_seq_length),
        "onnx int8": onnx_encoder(folder / "int8.onnx", model.tokenizer, model.max_seq_length),
    }
    rates: dict[str, list[float]] = {name: [] for name in encoders}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(4):  # the first round warms up and is dropped
        for name, encode in encoders.items():
            began = time.perf_counter()
            vectors[name] = encode(texts)
            rates[name].append(len(texts) / (time.perf_counter() - began))
    base = statistics.median(rates["torch fp32"][1:])
    for name, measured in rates.items():
        rate = statistics.median(measured[1:])
        cosine = np.sum(vectors[name] * vectors["torch fp32"], axis=1)
        print(
            f"{name:11s} {rate:6.1f} chunks/s  {rate / base:.2f}x torch  "
            f"cosine to torch: mean {cosine.mean():.3f}, min {cosine.min():.3f}"
        )


if __name__ == "__main__":
    main()
