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

Encoder = Callable[[list[str]], np.ndarray]
INPUTS = ["input_ids", "attention_mask", "token_type_ids"]


class _LastHidden(torch.nn.Module):
    """Keyword arguments only: transformers 5's BertModel takes others positionally."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        return self.model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state


def onnx_encoder(model_file: Path, tokenizer: object, max_length: int) -> Encoder:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])

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
            hidden = session.run(None, {k: batch[k].astype(np.int64) for k in INPUTS})[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / mask.sum(1)  # MiniLM's mean pooling
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.concatenate(out)

    return encode


def main() -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    texts = chunk_texts(256)
    model = SentenceTransformer(str(packaged_model_path()), device="cpu")
    folder = Path(tempfile.mkdtemp())
    sample = model.tokenizer(texts[:2], padding=True, return_tensors="pt")
    torch.onnx.export(
        _LastHidden(model[0].auto_model.eval()),
        tuple(sample[k] for k in INPUTS),
        str(folder / "fp32.onnx"),
        input_names=INPUTS,
        output_names=["last_hidden_state"],
        dynamic_axes={k: {0: "batch", 1: "tokens"} for k in [*INPUTS, "last_hidden_state"]},
        opset_version=17,
        dynamo=False,
    )
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
