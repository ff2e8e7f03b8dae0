"""The Chinese text classifier: it suggests an incident's 类型 from the call text, and a fraud report's typology.

Features are character n-grams (1 and 2 characters) of the text with punctuation and spaces removed,
weighted by TF-IDF and normalised; the model is a multinomial logistic regression, trained by full-batch
gradient descent (Adam) in numpy. Character n-grams need no word list, so nothing is downloaded, and they
tolerate typos and homophones better than whole words.

A suggestion is only a suggestion: the dispatcher's choice is final. When the dispatcher (or the officer
registering a report) picks another label, `record_override` appends the text and the chosen label to a
JSON-lines file that the next training reads (`pingan command train-classifier`).

Labels are plain strings: the 类型 codes of the category table (`0101` theft, …) for incidents, and the
`Typology` values for reports; this module knows neither table, so it imports no domain.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from pingan.core.settings import get_settings

Kind = Literal["incident", "report"]
Variants = Literal["train", "heldout", "all"]
KINDS: tuple[Kind, ...] = ("incident", "report")
MODEL_FILE = "classifier.npz"
OVERRIDES_FILE = "classifier_overrides.jsonl"
NGRAM_RANGE = [1, 2]
_DROP = re.compile(r"[\s\W_]+", re.UNICODE)

FloatArray = npt.NDArray[np.float64]


def normalise(text: str) -> str:
    """Full-width to half-width, lower case, punctuation and spaces removed."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text).lower())


def ngrams(text: str) -> list[str]:
    """The character n-grams of a text, after `normalise`."""
    s = normalise(text)
    lo, hi = NGRAM_RANGE[0], NGRAM_RANGE[1]
    return [s[i : i + n] for n in range(lo, hi + 1) for i in range(len(s) - n + 1)]


@dataclass(frozen=True)
class Suggestion:
    """One label and the model's probability for it."""

    label: str
    confidence: float


@dataclass(frozen=True)
class Classification:
    """The suggested label with its confidence, and the three most likely labels, most likely first."""

    label: str
    confidence: float
    top: list[Suggestion]


@dataclass(frozen=True)
class TextModel:
    """A trained classifier: its n-gram vocabulary, their IDF weights, and the linear model's weights."""

    labels: list[str]
    vocabulary: dict[str, int]
    idf: FloatArray
    weights: FloatArray  # features × labels
    bias: FloatArray  # labels

    def _features(self, texts: Sequence[str]) -> sp.csr_matrix:
        return _vectorise(texts, self.vocabulary, self.idf)

    def probabilities(self, texts: Sequence[str]) -> FloatArray:
        """Each text's probability per label (rows sum to 1)."""
        x = self._features(texts)
        return _softmax(np.asarray(x @ self.weights) + self.bias)

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The most likely label of each text."""
        if not texts:
            return []
        p = self.probabilities(texts)
        return [self.labels[i] for i in p.argmax(axis=1)]

    def classify(self, text: str, top: int = 3) -> Classification:
        """The suggested label with its confidence and the `top` most likely labels, most likely first."""
        p = self.probabilities([text])[0]
        order = np.argsort(-p, kind="stable")[:top]
        best = [Suggestion(self.labels[i], round(float(p[i]), 4)) for i in order]
        # Rounding each down keeps their sum at or below 1.
        best = [Suggestion(s.label, float(np.floor(s.confidence * 1e4) / 1e4)) for s in best]
        return Classification(label=best[0].label, confidence=best[0].confidence, top=best)


def _vectorise(texts: Sequence[str], vocabulary: dict[str, int], idf: FloatArray) -> sp.csr_matrix:
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for text in texts:
        counts = Counter(vocabulary[g] for g in ngrams(text) if g in vocabulary)
        if counts:
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            w = (1.0 + np.log(tf)) * idf[idx]
            w /= np.linalg.norm(w)
            indices.extend(idx.tolist())
            data.extend(w.tolist())
        indptr.append(len(indices))
    return sp.csr_matrix(
        (
            np.asarray(data, dtype=np.float64),
            np.asarray(indices, dtype=np.int64),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(texts), len(idf)),
    )


def _softmax(z: FloatArray) -> FloatArray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    out: FloatArray = e / e.sum(axis=1, keepdims=True)
    return out


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    weights: Sequence[float] | None = None,
    *,
    min_df: int = 2,
    l2: float = 1e-3,
    steps: int = 150,
    learning_rate: float = 0.05,
) -> TextModel:
    """Fit a model on labelled texts; `weights` counts some examples more (the dispatchers' overrides)."""
    if len(texts) != len(labels) or not texts:
        raise ValueError("train needs as many labels as texts, and at least one text")
    sample_w = np.ones(len(texts)) if weights is None else np.asarray(weights, dtype=np.float64)
    label_list = sorted(set(labels))
    y = np.asarray([label_list.index(lab) for lab in labels], dtype=np.int64)
    df: Counter[str] = Counter()
    for text in texts:
        df.update(set(ngrams(text)))
    # An override is rare by nature: its n-grams count even when seen once.
    vocab_terms = sorted(g for g, c in df.items() if c >= min_df)
    if weights is not None:
        heavy = {g for text, w in zip(texts, sample_w, strict=True) if w > 1 for g in ngrams(text)}
        vocab_terms = sorted(set(vocab_terms) | heavy)
    vocabulary = {g: i for i, g in enumerate(vocab_terms)}
    n = len(texts)
    idf = np.log((1 + n) / (1 + np.asarray([df[g] for g in vocab_terms], dtype=np.float64))) + 1.0
    x = _vectorise(texts, vocabulary, idf)
    xt = x.T.tocsr()
    n_feat, n_lab = len(vocab_terms), len(label_list)
    onehot = np.zeros((n, n_lab))
    onehot[np.arange(n), y] = 1.0
    w = np.zeros((n_feat, n_lab))
    b = np.zeros(n_lab)
    total = sample_w.sum()
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        p = _softmax(np.asarray(x @ w) + b)
        g = (p - onehot) * (sample_w / total)[:, None]
        grad_w = np.asarray(xt @ g) + l2 * w
        grad_b = g.sum(axis=0)
        m_w = beta1 * m_w + (1 - beta1) * grad_w
        v_w = beta2 * v_w + (1 - beta2) * grad_w**2
        m_b = beta1 * m_b + (1 - beta1) * grad_b
        v_b = beta2 * v_b + (1 - beta2) * grad_b**2
        corr1, corr2 = 1 - beta1**step, 1 - beta2**step
        w -= learning_rate * (m_w / corr1) / (np.sqrt(v_w / corr2) + eps)
        b -= learning_rate * (m_b / corr1) / (np.sqrt(v_b / corr2) + eps)
    return TextModel(labels=label_list, vocabulary=vocabulary, idf=idf, weights=w, bias=b)


# --- the model file ---------------------------------------------------------------------------------------


def model_path() -> Path:
    """Where `pingan command train-classifier` writes by default and the API reads: DATA_DIR/classifier.npz."""
    return get_settings().data_dir / MODEL_FILE


def save(models: dict[Kind, TextModel], path: Path) -> None:
    """Write the models to one `.npz` file (no pickles: it is read back with `allow_pickle=False`)."""
    arrays: dict[str, npt.NDArray[np.generic]] = {}
    for kind, m in models.items():
        terms = sorted(m.vocabulary, key=m.vocabulary.__getitem__)
        arrays[f"{kind}_terms"] = np.asarray(terms, dtype=np.str_)
        arrays[f"{kind}_labels"] = np.asarray(m.labels, dtype=np.str_)
        arrays[f"{kind}_idf"] = m.idf
        arrays[f"{kind}_weights"] = m.weights.astype(np.float32)
        arrays[f"{kind}_bias"] = m.bias
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]


def load(path: Path) -> dict[Kind, TextModel]:
    """Read the models `save` wrote; a missing file is FileNotFoundError."""
    out: dict[Kind, TextModel] = {}
    with np.load(path, allow_pickle=False) as z:
        for kind in KINDS:
            if f"{kind}_terms" not in z:
                continue
            terms = [str(t) for t in z[f"{kind}_terms"]]
            out[kind] = TextModel(
                labels=[str(lab) for lab in z[f"{kind}_labels"]],
                vocabulary={t: i for i, t in enumerate(terms)},
                idf=np.asarray(z[f"{kind}_idf"], dtype=np.float64),
                weights=np.asarray(z[f"{kind}_weights"], dtype=np.float64),
                bias=np.asarray(z[f"{kind}_bias"], dtype=np.float64),
            )
    return out


@lru_cache(maxsize=4)
def _loaded(path: str, mtime: float) -> dict[Kind, TextModel]:
    return load(Path(path))


def loaded_model(kind: Kind, path: Path | None = None) -> TextModel | None:
    """The trained model of `kind` from the model file (re-read when the file changes); None if untrained."""
    p = path or model_path()
    try:
        mtime = p.stat().st_mtime
    except FileNotFoundError:
        return None
    return _loaded(str(p), mtime).get(kind)


# --- overrides: the dispatcher's choice is final, and it is training data ------------------------------------


def overrides_path() -> Path:
    """DATA_DIR/classifier_overrides.jsonl."""
    return get_settings().data_dir / OVERRIDES_FILE


@dataclass(frozen=True)
class Override:
    """A text whose label a person chose over the model's suggestion."""

    kind: Kind
    text: str
    suggested: str | None
    chosen: str
    by: str
    at: str
    # The full code the person chose where it is finer than the model's label (a call's 细类 under the
    # chosen 类型), kept for a model that learns the finer level; None for older lines and reports.
    chosen_code: str | None = None


def record_override(
    kind: Kind,
    text: str,
    suggested: str | None,
    chosen: str,
    *,
    by: str,
    path: Path | None = None,
    chosen_code: str | None = None,
) -> Override | None:
    """Log a person's choice that differs from the suggestion; it becomes a training example.

    Returns the record, or None when the choice agreed with the suggestion (nothing to learn) or the text
    is blank.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: one of {', '.join(KINDS)}")
    if not chosen.strip():
        raise ValueError("chosen: give the label that was chosen")
    if not text.strip() or chosen == suggested:
        return None
    rec = Override(
        kind, text, suggested, chosen, by, datetime.now(UTC).isoformat(timespec="seconds"), chosen_code
    )
    p = path or overrides_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec.__dict__, ensure_ascii=False) + "\n")
    return rec


def read_overrides(path: Path | None = None, kind: Kind | None = None) -> list[Override]:
    """Every recorded override (of one kind if given), oldest first; a missing file has none."""
    p = path or overrides_path()
    if not p.exists():
        return []
    out: list[Override] = []
    for line in p.read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            rec = Override(**raw)
            if kind is None or rec.kind == kind:
                out.append(rec)
    return out


def accuracy_and_macro_f1(truth: Iterable[str], predicted: Iterable[str]) -> tuple[float, float]:
    """Accuracy, and the mean over the true labels of each label's F1."""
    t, p = list(truth), list(predicted)
    if not t:
        return 0.0, 0.0
    acc = sum(a == b for a, b in zip(t, p, strict=True)) / len(t)
    f1s = []
    for lab in sorted(set(t)):
        tp = sum(a == lab and b == lab for a, b in zip(t, p, strict=True))
        fp = sum(a != lab and b == lab for a, b in zip(t, p, strict=True))
        fn = sum(a == lab and b != lab for a, b in zip(t, p, strict=True))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return acc, float(np.mean(f1s))
