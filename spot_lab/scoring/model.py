"""The topic model: scikit-learn's LDA on the aggregated (document, word) counts only.

θ (P(topic | ip)) and φ (P(word | topic)) come back as Arrow tables so the engine can join
them to the events: score(ip, w) = Σ_k θ[ip, k] · φ[k, w] (reference 5.1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import InputError

# Spot's priors (LDA_ALPHA 1.02, LDA_BETA 1.001, reference 5.2) are Spark EM's MAP
# concentrations, whose estimates are (count + prior - 1) / total: the same additive smoothing as
# a variational posterior mean with prior - 1. scikit-learn's defaults (1/K = 0.05 for both)
# smooth 50x more: a word seen once then scores far above the floor of a busy host's foreign
# words, which flooded the top of the list (the README, "Evaluation").
DOC_TOPIC_PRIOR = 1.02 - 1
TOPIC_WORD_PRIOR = 1.001 - 1


@dataclass
class TopicModel:
    theta: pa.Table  # ip, t0 .. t{K-1}: P(topic | ip)
    phi: pa.Table  # word, t0 .. t{K-1}: P(word | topic)
    documents: int
    words: int


def fit(counts: pa.Table, topics: int, seed: int, max_iter: int = 10) -> TopicModel:
    """Fit LDA on (ip, word, n) triples; documents are IPs, terms are words.

    Batch variational LDA in 32-bit (Spot's PRECISION 32 option) with a looser per-document
    convergence (tol 0.01, at most 20 inner steps) and 10 passes, so that a 1M-flow day's
    ~0.9M (ip, word) pairs fit on two cores in reasonable time (see bench/bench_score.py).
    """
    from scipy.sparse import csr_matrix
    from sklearn.decomposition import LatentDirichletAllocation

    ips = pc.dictionary_encode(counts.column("ip").combine_chunks())
    words = pc.dictionary_encode(counts.column("word").combine_chunks())
    n_docs, n_words = len(ips.dictionary), len(words.dictionary)
    if n_docs < topics:
        raise InputError(
            f"only {n_docs} documents (IPs) for {topics} topics: score a busier day "
            f"or use fewer topics (--topics {max(1, n_docs)})"
        )
    matrix = csr_matrix(
        (
            counts.column("n").to_numpy().astype(np.float32),
            (ips.indices.to_numpy(), words.indices.to_numpy()),
        ),
        shape=(n_docs, n_words),
    )
    lda = LatentDirichletAllocation(
        n_components=topics,
        learning_method="batch",
        max_iter=max_iter,
        random_state=seed,
        mean_change_tol=1e-2,
        max_doc_update_iter=20,
        n_jobs=1,
        doc_topic_prior=DOC_TOPIC_PRIOR,
        topic_word_prior=TOPIC_WORD_PRIOR,
    )
    theta = lda.fit_transform(matrix)
    theta = (theta / theta.sum(axis=1, keepdims=True)).astype(np.float64)
    phi = (lda.components_ / lda.components_.sum(axis=1, keepdims=True)).astype(np.float64)
    # Wide tables (one column per topic): the engine scores a pair with two key joins and
    # a dot product, never a (topic x word) explosion.
    theta_table = pa.table(
        {"ip": ips.dictionary, **{f"t{k}": pa.array(theta[:, k]) for k in range(topics)}}
    )
    phi_table = pa.table(
        {"word": words.dictionary, **{f"t{k}": pa.array(phi[k, :]) for k in range(topics)}}
    )
    return TopicModel(theta_table, phi_table, n_docs, n_words)
