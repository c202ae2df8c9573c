"""Task inputs grouped into topics, reproducibly.

Texts become TF-IDF vectors of their words and of their words' character 3-5-grams (so that
"refund", "refunds" and "refunded", or "ship" and "shipping", meet), common and chat words
left out; or the endpoint's embeddings when given. Each text is linked to its nearest
neighbours (cosine) and the graph is cut by spectral clustering: short texts that share a
word with a few others end in one topic even when no word is common to the whole topic, which
k-means over the same vectors does not manage. k, when not given, is where the graph's
eigenvalues jump (the eigengap). The same texts in the same order with the same seed give the
same topics, numbered by size (0 the largest), each named by the words that set it apart.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import laplacian
from sklearn.cluster import MiniBatchKMeans, SpectralClustering
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.neighbors import kneighbors_graph
from sklearn.preprocessing import normalize

__all__ = ["Topic", "Clustering", "cluster_texts", "MIN_TEXTS", "CHAT_WORDS"]

#: fewer texts than this make no topics worth the name
MIN_TEXTS = 5
#: words of any chat that say nothing of its topic
CHAT_WORDS = frozenset({"hi", "hello", "hey", "please", "thanks", "thank", "help", "need", "want", "like", "know",
                        "just", "ok", "okay", "yes", "no", "does", "did", "doesn", "don", "im", "ve", "ll", "got",
                        "get", "make", "tell", "way", "thing", "really", "sure", "oh", "can", "could", "would",
                        "will", "still", "now", "what", "why", "how", "when", "where", "is", "it"})
_STOP = sorted(ENGLISH_STOP_WORDS | CHAT_WORDS)
_WORD = re.compile(r"(?u)\b[^\W\d_]{2,}\b")
_TERMS = 8
_EXAMPLES = 5
_NEIGHBOURS = 10
#: the graph's eigenvalues (the choice of k) are read on at most this many nodes
_EIGEN_SAMPLE = 1500
#: above this many different texts, they are first gathered into _MICRO_GROUPS groups (k-means in
#: a _LSA_DIMS-dimension projection) and the graph links the groups
_MICRO_ABOVE = 500
_MICRO_GROUPS = 300
_LSA_DIMS = 100


@dataclass(frozen=True, slots=True)
class Topic:
    topic_id: int
    size: int
    terms: tuple[str, ...]  # the words that set it apart, most telling first
    examples: tuple[int, ...]  # indices of the members most like the rest of it

    @property
    def name(self) -> str:
        """Its three most telling terms, a word already in an earlier pair left out."""
        chosen: list[str] = []
        for term in self.terms:
            if any(set(term.split()) & set(other.split()) for other in chosen):
                continue
            chosen.append(term)
            if len(chosen) == 3:
                break
        return " · ".join(chosen) if chosen else "(no words)"


@dataclass(frozen=True, slots=True)
class Clustering:
    labels: tuple[int, ...]  # the topic of each text, in the texts' order
    topics: tuple[Topic, ...]
    method: str
    eigenvalues: tuple[float, ...] = ()  # the smallest of the graph's Laplacian (k's choice)


def _content(text: str) -> str:
    return " ".join(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def _features(texts: Sequence[str], seed: int) -> sp.csr_matrix:
    words = TfidfVectorizer(strip_accents="unicode", sublinear_tf=True, token_pattern=_WORD.pattern,
                            stop_words=_STOP).fit_transform(texts)
    grams = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, strip_accents="unicode",
                            min_df=2 if len(texts) >= 20 else 1).fit_transform([_content(t) for t in texts])
    return normalize(sp.hstack([words, grams]).tocsr())


def cluster_texts(texts: Sequence[str], seed: int = 0, k: int | None = None, max_k: int = 20,
                  vectors: Sequence[Sequence[float]] | None = None) -> Clustering:
    """Topics of `texts`; `vectors` (one per text, e.g. embeddings) replace the word vectors
    for grouping (names still come from the words)."""
    if len(texts) < MIN_TEXTS:
        raise ValueError(f"{len(texts)} texts: topics need at least {MIN_TEXTS}")
    if vectors is None:  # the same text asked many times is one point of the graph, counted many times
        first: dict[str, int] = {}
        where = [first.setdefault(" ".join(text.lower().split()), len(first)) for text in texts]
        if len(first) < len(texts):
            unique = [""] * len(first)
            for index, slot in enumerate(where):
                if not unique[slot]:
                    unique[slot] = texts[index]
            found = cluster_texts(unique, seed, k, max_k) if len(unique) >= MIN_TEXTS else None
            if found is None:
                raise ValueError(f"{len(unique)} different texts: topics need at least {MIN_TEXTS}")
            return _expand(found, where, unique, texts)
    n = len(texts)
    if vectors is not None:
        space: np.ndarray | sp.csr_matrix = normalize(np.asarray(vectors, dtype=float))
        method = "embeddings-spectral"
    else:
        try:
            space = _features(texts, seed)
        except ValueError:  # nothing but stop words and digits
            raise ValueError("the texts hold too few distinct words to group") from None
        method = "tfidf-spectral"
    nodes, node_of = space, np.arange(n)
    if n > _MICRO_ABOVE:  # many texts: the graph links groups of near-identical texts, not the texts
        if sp.issparse(space):
            space = normalize(TruncatedSVD(_LSA_DIMS, random_state=seed).fit_transform(space))
        micro = MiniBatchKMeans(min(_MICRO_GROUPS, n // 5), random_state=seed, n_init=3,
                                batch_size=2048).fit(space)
        nodes, node_of = normalize(micro.cluster_centers_), micro.labels_
    count = nodes.shape[0]
    graph = kneighbors_graph(nodes, min(_NEIGHBOURS, count - 1), metric="cosine", include_self=False)
    affinity = (0.5 * (graph + graph.T)).tocsr()
    eigenvalues = _eigenvalues(affinity, min(max_k, count - 1) + 1, seed)
    if k is None:
        gaps = np.diff(eigenvalues[1:])  # the first is 0: one connected graph is one topic at least
        k = int(np.argmax(gaps)) + 2 if len(gaps) else 1
    k = max(1, min(k, count - 1))
    if k == 1:
        node_labels = np.zeros(count, dtype=int)
    else:
        with warnings.catch_warnings():  # a graph in pieces is topics apart, not a problem
            warnings.filterwarnings("ignore", message="Graph is not fully connected")
            node_labels = SpectralClustering(k, affinity="precomputed", assign_labels="cluster_qr",
                                             random_state=seed).fit_predict(affinity)
    return _topics(texts, node_labels[node_of], space, method, tuple(round(float(v), 6) for v in eigenvalues))


def _eigenvalues(affinity: sp.csr_matrix, count: int, seed: int) -> np.ndarray:
    """The `count` smallest eigenvalues of the graph's normalized Laplacian; a large graph is
    read on a seeded sample of its nodes (the jump that tells k shows there too)."""
    n = affinity.shape[0]
    if n > _EIGEN_SAMPLE:
        keep = np.sort(np.random.default_rng(seed).choice(n, _EIGEN_SAMPLE, replace=False))
        affinity = affinity[keep][:, keep]
    lap = laplacian(affinity, normed=True)
    return np.sort(np.linalg.eigvalsh(lap.toarray()))[:count]


def _topics(texts: Sequence[str], labels: np.ndarray, space: np.ndarray | sp.csr_matrix, method: str,
            eigenvalues: tuple[float, ...]) -> Clustering:
    tfidf = TfidfVectorizer(strip_accents="unicode", ngram_range=(1, 2), sublinear_tf=True,
                            token_pattern=_WORD.pattern, stop_words=_STOP)
    try:
        words = tfidf.fit_transform(texts)
        names = tfidf.get_feature_names_out()
        overall = np.asarray(words.mean(axis=0)).ravel()
    except ValueError:
        words = None
    found = []
    for label in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == label)
        centre = np.asarray(space[members].mean(axis=0)).ravel()
        closeness = np.asarray(space[members] @ centre).ravel()  # the members most like the rest of it
        nearest = members[np.argsort(-closeness, kind="stable")][:_EXAMPLES]
        terms: tuple[str, ...] = ()
        if words is not None:
            lift = np.asarray(words[members].mean(axis=0)).ravel() - overall
            order = np.lexsort((names, -lift))  # ties by the term itself: reproducible
            terms = tuple(str(names[i]) for i in order[:_TERMS] if lift[i] > 0)
        found.append((label, members, terms, tuple(int(i) for i in nearest)))
    found.sort(key=lambda f: (-len(f[1]), f[2], int(f[1][0])))
    renumber = {label: topic_id for topic_id, (label, *_rest) in enumerate(found)}
    topics = tuple(Topic(topic_id, len(members), terms, nearest)
                   for topic_id, (_, members, terms, nearest) in enumerate(found))
    return Clustering(tuple(renumber[int(label)] for label in labels), topics, method, eigenvalues)


def _expand(found: Clustering, where: list[int], unique: list[str], texts: Sequence[str]) -> Clustering:
    """Topics of the unique texts given to every copy: sizes count copies, examples stay distinct."""
    labels = tuple(found.labels[slot] for slot in where)
    first_index = {}
    for index, slot in enumerate(where):
        first_index.setdefault(slot, index)
    topics = tuple(Topic(t.topic_id, labels.count(t.topic_id), t.terms, tuple(first_index[i] for i in t.examples))
                   for t in found.topics)
    order = sorted(topics, key=lambda t: (-t.size, t.terms, t.topic_id))
    renumber = {t.topic_id: new for new, t in enumerate(order)}
    return Clustering(tuple(renumber[label] for label in labels),
                      tuple(Topic(renumber[t.topic_id], t.size, t.terms, t.examples) for t in order),
                      found.method, found.eigenvalues)
