"""The topic model: scikit-learn's LDA on the aggregated (document, word) counts only.

θ (P(topic | ip)) and φ (P(word | topic)) come back as Arrow tables so the engine can join
them to the events: Spot's score(ip, w) = Σ_k θ[ip, k] · φ[k, w] (reference 5.1). With them
come each topic's size and each word's field prior, for the others' view that
`pair_scores` (queries/scoring.yaml) combines with Spot's score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spot_lab.errors import InputError

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
    phi: pa.Table  # word, t0 .. t{K-1}: P(word | topic), prior: field_prior of the word
    sizes: pa.Table  # one row: s0 .. (φ's normalisers), n0 .. (words each topic holds)
    documents: int
    words: int


def field_prior(words: pa.Array, totals: np.ndarray) -> np.ndarray:
    """P(word) if its fields were independent: the product of each field's share of the corpus.

    A word is Spot's '_'-joined bins (hour, method, size...); fields are aligned from the
    end because flow words may carry a '-1_' direction prefix. A word never seen elsewhere
    then still scores by how common its parts are: 02:00 + POST + a rare agent is rarer than
    14:00 + GET + a common one, where LDA alone can tell such words apart only by chance.
    """
    import pandas as pd

    fields = pd.Series(words.to_pandas(), dtype=object).str.split("_")
    width = int(fields.str.len().max())
    prior = np.ones(len(fields))
    share = totals / totals.sum()
    for pos in range(1, width + 1):
        value = fields.str[-pos].fillna("")
        prior *= pd.Series(share).groupby(value.to_numpy()).transform("sum").to_numpy()
    return prior


def _fit_topics(lda, matrix) -> np.ndarray:
    """`lda.fit_transform(matrix)` without two passes it makes that nothing here reads: fit
    ends with an E-step over the documents for its perplexity, and transform repeats that
    same E-step (same topics, no random start). The perplexity (a tenth of a 10M-flow
    day's fit) is skipped and the E-step's result kept; an sklearn that no longer hands it
    over gets transform's."""
    final: list[np.ndarray] = []

    def keep(X, doc_topic_distr=None, sub_sampling=False):  # noqa: N803 - sklearn's name
        final.append(doc_topic_distr)
        return float("nan")  # fit's perplexity (lda.bound_), which spot-lab never reads

    lda._perplexity_precomp_distr = keep
    lda.fit(matrix)
    if final and final[-1] is not None:
        return final[-1] / final[-1].sum(axis=1, keepdims=True)
    return lda.transform(matrix)


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
    theta = _fit_topics(lda, matrix)
    theta = (theta / theta.sum(axis=1, keepdims=True)).astype(np.float64)
    phi = (lda.components_ / lda.components_.sum(axis=1, keepdims=True)).astype(np.float64)
    # Wide tables (one column per topic): the engine scores a pair with two key joins and
    # a dot product, never a (topic x word) explosion.
    theta_table = pa.table(
        {"ip": ips.dictionary, **{f"t{k}": pa.array(theta[:, k]) for k in range(topics)}}
    )
    phi_table = pa.table(
        {
            "word": words.dictionary,
            **{f"t{k}": pa.array(phi[k, :]) for k in range(topics)},
            "prior": field_prior(words.dictionary, np.asarray(matrix.sum(axis=0)).ravel()),
        }
    )
    # s: φ's normaliser (φ·s is the topic's smoothed count of a word); n: the words the topic
    # holds, without the prior's pseudo-counts
    sums = lda.components_.sum(axis=1).astype(np.float64)
    held = sums - n_words * TOPIC_WORD_PRIOR
    sizes_table = pa.table(
        {f"{c}{k}": pa.array([v[k]]) for c, v in (("s", sums), ("n", held)) for k in range(topics)}
    )
    return TopicModel(theta_table, phi_table, sizes_table, n_docs, n_words)
