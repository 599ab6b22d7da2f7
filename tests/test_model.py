"""The topic model and the pair scores joined back in the engine (real LDA, real DuckDB)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from spot_lab.engines.duckdb_engine import DuckDBEngine
from spot_lab.scoring import model, sqlrun
from spot_lab.scoring.run import stage_pair_scores

COMMON = [f"1_{h}_GET_14_text_10_6_200" for h in range(8, 18)]
UPLOAD = "0_2_POST_15_application_3_7_200"  # night, POST, a rare agent's bin


def _corpus() -> pa.Table:
    """40 hosts browsing alike; host 10.0.0.99 also repeats one upload nobody else makes."""
    rng = np.random.default_rng(5)
    rows = [(f"10.0.0.{i}", w, int(rng.integers(1, 6))) for i in range(40) for w in COMMON]
    rows.append(("10.0.0.99", UPLOAD, 12))
    rows += [("10.0.0.99", w, 2) for w in COMMON[:4]]
    ips, words, n = zip(*rows, strict=True)
    return pa.table({"ip": list(ips), "word": list(words), "n": pa.array(n, pa.int64())})


@pytest.fixture()
def pairs(empty_lake):
    counts = _corpus()
    fitted = model.fit(counts, topics=4, seed=7)
    engine = DuckDBEngine(empty_lake)
    names = {k: f"t_{k}" for k in ("counts", "theta", "phi", "sizes", "pairs")}
    sqlrun.push(engine, names["counts"], counts)
    stage_pair_scores(engine, fitted, names, backoff=1.0)
    ours = engine.arrow(f"SELECT ip, word, score FROM {names['pairs']}").to_pandas()
    spot = _spot_scores(fitted, counts)
    engine.close()
    return ours.merge(spot, on=["ip", "word"])


def _spot_scores(fitted: model.TopicModel, counts: pa.Table):
    """Spot's Σ θ·φ for every pair, straight from the fitted tables."""
    theta = fitted.theta.to_pandas().set_index("ip")
    phi = fitted.phi.to_pandas().set_index("word").drop(columns="prior")
    frame = counts.to_pandas()[["ip", "word"]]
    frame["spot"] = (theta.loc[frame.ip].to_numpy() * phi.loc[frame.word].to_numpy()).sum(1)
    return frame


def test_a_hosts_repeated_attack_cannot_vouch_for_itself(pairs):
    upload = pairs[pairs.word == UPLOAD].iloc[0]
    # Spot's score: the repeats fill a topic of their own, so the upload looks ordinary
    assert (pairs.spot < upload.spot).mean() > 0.5
    # with the host's own events taken out, nothing else supports it: the lowest of all
    assert upload.score == pairs.score.min()
    assert (pairs.drop(upload.name).score > 100 * upload.score).all()


def test_scores_are_probabilities_and_common_words_stay_high(pairs):
    assert pairs.score.between(0, 1).all()
    browsing = pairs[pairs.word != UPLOAD]
    assert browsing.score.min() > 0.01  # one of 10 common words: about 1/10


def test_field_prior_multiplies_the_share_of_each_field():
    words = pa.array(["a_x", "a_y", "b_x", "-1_a_x"])
    totals = np.array([6.0, 2.0, 1.0, 1.0])
    prior = model.field_prior(words, totals)
    # fields align from the end: '-1_a_x' is a|x plus a direction field the others lack
    share_a, share_x, no_prefix = 0.9, 0.8, 0.9
    assert prior[0] == pytest.approx(share_a * share_x * no_prefix)
    assert prior[1] == pytest.approx(share_a * 0.2 * no_prefix)
    assert prior[2] == pytest.approx(0.1 * share_x * no_prefix)
    assert prior[3] == pytest.approx(share_a * share_x * 0.1)


def test_the_fit_keeps_its_last_e_step_as_fit_transform_would_compute_it():
    """model.fit skips sklearn's final perplexity and transform's repeat of the last E-step:
    the topics it keeps are sklearn's own fit_transform, to float precision."""
    from scipy.sparse import csr_matrix
    from sklearn.base import clone
    from sklearn.decomposition import LatentDirichletAllocation

    rng = np.random.default_rng(11)
    matrix = csr_matrix(rng.poisson(0.3, (60, 40)).astype(np.float32))
    lda = LatentDirichletAllocation(n_components=5, max_iter=4, random_state=3,
                                    doc_topic_prior=0.02, topic_word_prior=0.001)  # fmt: skip
    expected = clone(lda).fit_transform(matrix)
    kept = model._fit_topics(lda, matrix)
    assert kept.shape == (60, 5)
    np.testing.assert_allclose(kept, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(kept.sum(axis=1), 1, rtol=1e-5)
