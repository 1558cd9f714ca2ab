"""A reproducible synthetic corpus: any number of chunk-sized texts from one seed.

Word frequencies follow Zipf's law over the default article's words (most frequent
first) followed by made-up words, so real questions about the article share terms with
the texts the way they would in a large real corpus, and every run builds the same texts.
"""

import itertools
import re
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np

ARTICLE = Path(__file__).resolve().parents[2] / "corpus" / "meta-behemoth-open-source.txt"
VOCABULARY_SIZE = 20_000
ZIPF_EXPONENT = 1.07
DIMENSIONS = 384  # MiniLM's


@cache
def vocabulary(seed: int = 7) -> tuple[str, ...]:
    article = ARTICLE.read_text(encoding="utf-8") if ARTICLE.is_file() else ""
    counts = Counter(re.findall(r"[A-Za-z][a-z]+", article))
    words = [w for w, _ in counts.most_common()]
    syllables = ["ka", "ro", "mi", "ten", "lu", "sor", "ve", "na", "dil", "po", "ex", "tra"]
    made_up = ["".join(p) for n in (2, 3, 4) for p in itertools.product(syllables, repeat=n)]
    np.random.default_rng(seed).shuffle(made_up)
    seen = set(words)
    words += [w for w in made_up if w not in seen][: VOCABULARY_SIZE - len(words)]
    return tuple(words)


def chunk_texts(count: int, *, start: int = 0, words: int = 95, seed: int = 7) -> list[str]:
    """Texts `start` .. `start + count` of the sequence (about 600 characters each);
    the same index always gives the same text."""
    vocab = np.array(vocabulary(seed))
    cumulative = np.cumsum(1.0 / np.arange(1, len(vocab) + 1) ** ZIPF_EXPONENT)
    cumulative /= cumulative[-1]
    texts = []
    for index in range(start, start + count):
        rng = np.random.default_rng((seed, index))
        drawn = vocab[np.searchsorted(cumulative, rng.random(words))]
        sentences = [" ".join(part) for part in np.array_split(drawn, max(1, words // 14))]
        texts.append(". ".join(s.capitalize() for s in sentences) + ".")
    return texts


def unit_vectors(count: int, *, start: int = 0, seed: int = 7) -> np.ndarray:
    """Random unit vectors standing in for embeddings: the hardest case for an
    approximate nearest-neighbour index, which real, clustered embeddings are not."""
    rng = np.random.default_rng((seed, start, count))
    vectors = rng.standard_normal((count, DIMENSIONS)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
