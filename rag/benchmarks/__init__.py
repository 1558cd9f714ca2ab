"""`rag bench`: measured figures, printed as a table and written as JSON.

Every figure is a median (or a percentile) over repeated runs in one process, and every
ratio compares two measurements taken in the same run. These are benchmarks, not tests:
the machines are shared, so the numbers are reported against targets, never asserted.
"""

SECTIONS = (
    "ingestion",
    "embedders",
    "retrieval",
    "retrieval_1m",
    "llm",
    "answer_repeated",
    "answer_cold",
    "model_load",
    "startup",
    "threads",
)
# Sections that run only when named in --only (they take minutes and load the model often).
OPT_IN = frozenset({"threads"})
