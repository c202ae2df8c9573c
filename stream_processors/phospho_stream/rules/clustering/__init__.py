"""Topics of what users ask, as pure functions over texts (scikit-learn, seeded)."""

from .cluster import CHAT_WORDS, MIN_TEXTS, Clustering, Topic, cluster_texts

__all__ = ["cluster_texts", "Clustering", "Topic", "MIN_TEXTS", "CHAT_WORDS"]
