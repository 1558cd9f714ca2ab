"""The environment that keeps every library offline and quiet.

It must run before huggingface_hub, transformers, chromadb or gradio are imported,
because they read these variables at import time. `rag/__init__.py` imports it first,
so any `import rag...` is enough.
"""

import os

OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "LANGSMITH_TRACING": "false",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
}


def apply() -> None:
    # Overwrite rather than setdefault: a stray HF_HUB_OFFLINE=0 must not reopen the network.
    os.environ.update(OFFLINE_ENV)


apply()
