"""score_day: one day of one type through Spot's suspicious-connects model, end to end.

Engine: validity filter, words, (ip, word) counts  ->  Python: LDA on the counts only
->  engine: θ and φ joined back to the events, filter, sort, top N  ->  enrichment of the
flagged rows  ->  `<type>_scores` written (lake: atomic partition replace; cluster: INSERT
OVERWRITE of the day's partition).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from spot_lab import limits, queries
from spot_lab.dates import parse_date
from spot_lab.engines.base import Engine
from spot_lab.errors import InputError
from spot_lab.scoring import model, sqlrun, words
from spot_lab.scoring.enrich import BUILDERS
from spot_lab.scoring.feedback import feedback_path, read_feedback
from spot_lab.scoring.words import q
from spot_lab.store import ipindex
from spot_lab.store.lake import to_arrow
from spot_lab.store.schema import DATA_TYPES, TABLES

DOCS_PER_TOPIC = 10  # spot-lab: fewer documents a topic give topics of one or two IPs
SCORE_MEMORY = "1500MB"  # DuckDB's memory while a day is scored (spills beyond, to a temp folder)


@dataclass
class ScoreResult:
    data_type: str
    day: dt.date
    events: int
    documents: int
    words: int
    flagged: int
    seconds: float
    scores: pa.Table  # the rows written to <type>_scores
    feedback_rows: int = 0
    beacons: pa.Table | None = None
    timings: dict[str, float] = field(default_factory=dict)
    threats: pa.Table | None = None  # the day's triage list (spot_lab.detect)
    notes: list[str] = field(default_factory=list)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        text = (
            f"{self.data_type} {self.day}: scored {self.events:,} events "
            f"({self.documents:,} documents, {self.words:,} distinct words"
            + (f", {self.feedback_rows} analyst-Low feedback rows" if self.feedback_rows else "")
            + f"); flagged {self.flagged:,} rows into {self.data_type}_scores"
        )
        if self.beacons is not None:
            text += f", {self.beacons.num_rows:,} beacon candidates into flow_beacons"
        if self.threats is not None:
            n = self.threats.num_rows
            text += f", {n:,} threat{'' if n == 1 else 's'} into {self.data_type}_threats"
        text += f" in {self.seconds:.1f} s ({self.events_per_second:,.0f} events/s)"
        return "\n".join([text, *(f"note: {n}" for n in self.notes)])


class _Progress:
    def __init__(self, enabled: bool, data_type: str) -> None:
        self.enabled, self.data_type = enabled, data_type
        self.start = self.last = time.perf_counter()
        self.timings: dict[str, float] = {}

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = now - self.last
        self.last = now
        if self.enabled:
            print(f"  {self.data_type}: {name} ({self.timings[name]:.1f} s)", file=sys.stderr)

    @property
    def total(self) -> float:
        return time.perf_counter() - self.start


def _check_type(data_type: str) -> str:
    if data_type not in DATA_TYPES:
        raise InputError(f"unknown type {data_type!r}: use one of {', '.join(DATA_TYPES)}")
    return data_type


def _no_data(engine: Engine, data_type: str, day: dt.date) -> InputError:
    from spot_lab.engines.days import available_days

    days = available_days(engine, data_type)
    listed = ", ".join(str(d) for d in days[-10:]) or "none"
    return InputError(f"no valid {data_type} events on {day}: days with {data_type} data: {listed}")


@dataclass
class _Options:
    """score_day's model settings, from the arguments or SpotLab's defaults."""

    tol: float
    limit: int
    topics: int
    seed: int
    dupfactor: int
    backoff: float
    user_domain: str


def _options(settings, tol, limit, topics, seed, dupfactor, user_domain) -> _Options:
    def pick(value, default, kind):
        return kind(default if value is None else value)

    tol, limit, topics, seed = checked_options(settings, tol, limit, topics, seed)
    opts = _Options(
        float(tol), int(limit), int(topics), int(seed),
        pick(dupfactor, settings.dupfactor, int), float(settings.score_backoff),
        settings.user_domain if user_domain is None else user_domain,
    )  # fmt: skip
    if opts.limit <= 0 or opts.topics <= 0 or opts.dupfactor < 0:
        raise InputError("limit and topics must be > 0 and dupfactor >= 0")
    return opts


def _feedback_rows(engine, data_type, day, feedback) -> pa.Table | None:
    lake = getattr(engine, "lake", None)
    fb_file = Path(feedback) if feedback is not None else None
    if fb_file is None and lake is not None:
        fb_file = feedback_path(lake.root, data_type, day)
    return read_feedback(fb_file, data_type, required=feedback is not None) if fb_file else None


def feasible_topics(documents: int, topics: int) -> int:
    """Topics the day can support: at least DOCS_PER_TOPIC documents (IPs) a topic, and one
    topic at the least (a two-host capture gets one topic: the day's own word frequencies)."""
    return max(1, min(topics, documents // DOCS_PER_TOPIC))


def score_day(
    engine: Engine,
    data_type: str,
    day: dt.date | str,
    *,
    tol: float | None = None,
    limit: int | None = None,
    topics: int | None = None,
    seed: int | None = None,
    dupfactor: int | None = None,
    user_domain: str | None = None,
    feedback: str | Path | None = None,
    settings=None,
    write: bool = True,
    beacons: bool = False,
    details_tables: bool | None = None,
    detectors=None,
    threats: bool = True,
    progress: bool = True,
) -> ScoreResult:
    """Score one day of `data_type` on `engine` and (by default) write `<type>_scores`, the
    OA detail tables and the triage list `<type>_threats` (spot_lab.detect).

    `details_tables`: also precompute OA's detail tables (edge, chords, dendro) of the flagged
    rows (default: on the embedded lake only). `feedback`: a feedback CSV to use (must exist);
    default: the day's ml_feedback.csv in the lake, when present. `detectors`: the detectors
    to run (a list or "a,b"; default all, spot_lab.detect.run.DETECTORS); `threats=False`
    skips them. `beacons=True` also writes the older flow_beacons table (superseded by the
    `beacon` detector's RITA v5 scores in flow_threats). Raises InputError (nothing
    written) for an unknown type, a day without data, an unknown detector or a malformed
    feedback file; WriteError (nothing written) when a partition to write, the IP index's
    included, cannot be replaced. A day with fewer documents than topics gets fewer topics,
    with a note.
    """
    from spot_lab.config import load_settings

    _check_type(data_type)
    day = parse_date(day)
    settings = settings or load_settings()
    opts = _options(settings, tol, limit, topics, seed, dupfactor, user_domain)
    lake = getattr(engine, "lake", None)
    indexed = write and lake is not None and data_type == "flow"  # %spot_threat's IP index
    if write and lake is not None:  # a read-only lake or a user's export: say so before scoring
        lake.check_replaceable(f"{data_type}_scores", day)
        if indexed:
            ipindex.check_replaceable(lake, day)
    if threats:
        from spot_lab.detect.run import choose

        choose(data_type, detectors)  # an unknown detector fails before any work
    fb_rows = _feedback_rows(engine, data_type, day, feedback)
    prog = _Progress(progress, data_type)
    restore_bar = _quiet_duckdb(engine)
    try:
        with sqlrun.bounded(engine, SCORE_MEMORY):
            model_part = _model(engine, data_type, day, opts, fb_rows, settings, prog)
            out, extra = model_part.scores, _extras(
                engine, data_type, day, model_part.scores, beacons, threats, detectors,
                settings, prog, model_part.notes,
            )  # fmt: skip
            if write:
                extra |= _details(engine, data_type, day, out, settings, details_tables, prog)
                _write_all(engine, data_type, day, out, extra)
                prog.step("write")
    finally:
        restore_bar()
    if indexed:
        _index(lake, day, prog)
    return ScoreResult(
        data_type, day, model_part.events, model_part.fitted.documents,
        model_part.fitted.words, out.num_rows, prog.total, out, model_part.n_feedback,
        extra.get("flow_beacons"), prog.timings, extra.get(f"{data_type}_threats"),
        model_part.notes,
    )  # fmt: skip


@dataclass
class _ModelPart:
    events: int
    fitted: model.TopicModel
    scores: pa.Table
    n_feedback: int
    notes: list[str]


def _model(engine, data_type, day, opts: _Options, fb_rows, settings, prog) -> _ModelPart:
    """Spot's suspicious-connects model: events, words, counts, LDA, scores, enrichment."""
    p = sqlrun.PREFIX + data_type
    names = {k: f"{p}_{k}" for k in ("events", "words", "counts", "fb", "fb_events", "fb_words",
                                      "theta", "phi", "sizes", "pairs")}  # fmt: skip
    params = {**words.day_params(data_type, day), **words.lookup_params(opts.user_domain)}
    notes: list[str] = []
    try:
        sqlrun.stage(engine, names["events"], words.events_sql(data_type), params)
        n_events = engine.arrow(f"SELECT count(*) AS n FROM {names['events']}")["n"][0].as_py()
        if not n_events:
            raise _no_data(engine, data_type, day)
        words.stage_words(engine, data_type, names["events"], names["words"], params)
        # the words hold every column of the events: their memory is back before the counts
        sqlrun.release(engine, names["events"])
        prog.step("words")
        # staged once: fetched for the LDA here, joined to θ and φ by pair_scores below
        sqlrun.stage(engine, names["counts"], words.counts_sql(data_type, names["words"]))
        counts = engine.arrow(f"SELECT ip, word, n FROM {names['counts']} ORDER BY ip, word")
        low = None if fb_rows is None or not fb_rows.num_rows else fb_rows.filter(
            pa.compute.equal(fb_rows["sev"], "3"))  # fmt: skip
        n_feedback = low.num_rows if low is not None else 0
        if n_feedback and opts.dupfactor:
            counts = pa.concat_tables([counts, _feedback_counts(
                engine, data_type, low, names, params, opts.dupfactor)])  # fmt: skip
        prog.step("counts")
        fitted = _fit(counts, opts, notes)
        prog.step("lda")
        stage_pair_scores(engine, fitted, names, opts.backoff)
        sqlrun.release(engine, names["counts"])  # copied into the pair scores
        scored = engine.arrow(
            q(f"{data_type}_scored", words=names["words"], pairs=names["pairs"]),
            {"tol": opts.tol, "limit": opts.limit},
        )
        prog.step("score")
    finally:
        sqlrun.drop(engine, *names.values())
    lake = getattr(engine, "lake", None)
    rows = BUILDERS[data_type](scored.to_pandas(), settings, lake.root if lake else None)
    out = to_arrow(TABLES[f"{data_type}_scores"], rows)
    return _ModelPart(n_events, fitted, out, n_feedback, notes)


def _extras(engine, data_type, day, out, beacons, threats, detectors, settings, prog, notes):
    """The derived tables beside `<type>_scores`: flow_beacons (flow) and `<type>_threats`."""
    extra: dict[str, pa.Table] = {}
    if data_type == "flow" and beacons:
        from spot_lab.scoring.beacons import beacon_scores

        extra["flow_beacons"] = beacon_scores(engine, day)
        prog.step("beacons")
    if threats:
        extra[f"{data_type}_threats"] = _threats(
            engine, data_type, day, detectors, out, settings, prog, notes
        )
    return extra


def _fit(counts: pa.Table, opts: _Options, notes: list[str]) -> model.TopicModel:
    documents = len(pa.compute.unique(counts["ip"]))
    topics = feasible_topics(documents, opts.topics)
    if topics < opts.topics:
        notes.append(
            f"LDA: {documents} documents (IPs) for {opts.topics} topics: fitted {topics} "
            f"topic(s) instead (at least {DOCS_PER_TOPIC} documents a topic)"
        )
    return model.fit(counts, topics, opts.seed)


def _threats(engine, data_type, day, detectors, scores, settings, prog, notes) -> pa.Table:
    from spot_lab.detect.run import detect_day

    result = detect_day(engine, data_type, day, detectors=detectors, scores=scores,
                        settings=settings, step=prog.step)  # fmt: skip
    notes.extend(result.notes)
    prog.step("triage")
    return result.threats


def _details(engine, data_type, day, out, settings, details_tables, prog) -> dict:
    if details_tables is None:  # tested on DuckDB; opt in on clusters
        details_tables = sqlrun.is_embedded(engine)
    if not details_tables:
        return {}
    from spot_lab.scoring.details import detail_tables

    lake = getattr(engine, "lake", None)
    details = detail_tables(engine, data_type, day, out, settings, lake.root if lake else None)
    prog.step("details")
    return details


def _write_all(engine, data_type, day, out: pa.Table, extra: dict) -> None:
    """Everything is computed: now write, scores first, after every partition to replace is
    checked (a user's export in one of them must not leave the others rewritten)."""
    lake = getattr(engine, "lake", None)
    if lake is not None:
        for name in extra:
            lake.check_replaceable(name, day)
    write_table(engine, f"{data_type}_scores", out, day)
    for name, table in extra.items():
        write_table(engine, name, table, day)


def _index(lake, day: dt.date, prog) -> None:
    """%spot_threat's per-day IP index (embedded lake, flow), after the working tables are
    dropped so their memory is back. (Built in a thread beside the LDA fit instead, a
    10M-flow day's flow scoring took as long, 1.00-1.04x, the index contending with the
    pair scores, and peaked 1 GB higher.)"""
    ipindex.build(lake, day)
    prog.step("ip index")


def checked_options(settings, tol=None, limit=None, topics=None, seed=None) -> tuple:
    """(tol, limit, topics, seed) from the arguments or the settings, checked against
    limits.yaml before any work: --tol -1 would replace the day's flagged rows with none,
    and a negative seed ended in scikit-learn's traceback."""
    pick = lambda value, default: default if value is None else value  # noqa: E731
    return (
        limits.number(pick(tol, settings.score_tol), "score_tol", "--tol", float),
        limits.number(pick(limit, settings.score_limit), "score_limit", "--limit"),
        limits.number(pick(topics, settings.score_topics), "score_topics", "--topics"),
        limits.number(pick(seed, settings.score_seed), "seed", "--seed"),
    )


def stage_pair_scores(engine: Engine, fitted: model.TopicModel, names: dict, backoff: float) -> str:
    """Push θ, φ and the topic sizes; stage names["pairs"]: (ip, word, n, word_n, score) for
    the pairs of names["counts"] (scoring.yaml `pair_scores`)."""
    for part in ("theta", "phi", "sizes"):
        sqlrun.push(engine, names[part], getattr(fitted, part))
    terms = _topic_terms(fitted.theta.num_columns - 1)
    relations = {"counts": names["counts"], "theta": names["theta"], "phi": names["phi"],
                 "sizes": names["sizes"]}  # fmt: skip
    chain = q("pair_chain", **relations, **terms)
    sql = q("pair_scores", chain=chain, **relations, **terms)
    params = {"backoff": float(backoff), "beta": model.TOPIC_WORD_PRIOR}
    return sqlrun.stage(engine, names["pairs"], sql, params)


def _topic_terms(topics: int) -> dict[str, str]:
    """pair_scores' per-topic terms (scoring.yaml `pair_terms`) expanded for k = 0 .. K-1."""
    terms = queries.library("scoring")["pair_terms"]
    joiner = {"spot": " + ", "mix": " + ", "others": " + ", "columns": ", ", "shares": ", ",
              "own": ", "}  # fmt: skip
    return {
        part: joiner[part].join(terms[part].replace("{k}", str(k)) for k in range(topics))
        for part in joiner
    }


def _quiet_duckdb(engine: Engine):
    """Hide DuckDB's terminal progress bar during scoring; return a function restoring it."""
    if not sqlrun.is_embedded(engine):
        return lambda: None
    con = engine.con
    before = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()[0]
    con.execute("SET enable_progress_bar = false")
    return lambda: con.execute(f"SET enable_progress_bar = {'true' if before else 'false'}")


def _feedback_counts(engine, data_type, low, names, params, dupfactor) -> pa.Table:
    """(ip, word, n x DUPFACTOR) of the analyst-Low rows, words computed by the same SQL."""
    sqlrun.push(engine, names["fb"], low)
    fb_events = words.feedback_events_sql(data_type, names["fb"], names["words"])
    sqlrun.stage(engine, names["fb_events"], fb_events)
    words.stage_words(engine, data_type, names["fb_events"], names["fb_words"], params)
    counts = engine.arrow(words.counts_sql(data_type, names["fb_words"]))
    scaled = pa.compute.multiply(counts["n"], pa.scalar(dupfactor, pa.int64()))
    return counts.set_column(2, "n", scaled)


def write_table(engine: Engine, name: str, table: pa.Table, day: dt.date) -> None:
    """Replace one day partition of a derived table: lake atomically, cluster by INSERT OVERWRITE."""
    lake = getattr(engine, "lake", None)
    if lake is not None:
        lake.replace_partition(name, table, day)
        return
    tmp = sqlrun.PREFIX + "out_" + name
    sqlrun.push(engine, tmp, table)
    try:
        cols = ", ".join(TABLES[name].column_names)
        engine._execute(
            f"INSERT OVERWRITE TABLE {name} PARTITION (y={day.year}, m={day.month}, d={day.day}) "
            f"SELECT {cols} FROM {tmp}",
            [],
        )
    finally:
        sqlrun.drop(engine, tmp)


def score_command(
    data_type: str,
    day: dt.date | str,
    *,
    lake: str | None = None,
    conn: str | None = None,
    tol: float | None = None,
    limit: int | None = None,
    topics: int | None = None,
    seed: int | None = None,
    detectors: str | None = None,
) -> str:
    """The `spot-lab score` command: score one day and return a one-paragraph summary."""
    from spot_lab.config import load_settings
    from spot_lab.engines.registry import open_engine

    _check_type(data_type)
    settings = load_settings()
    checked_options(settings, tol, limit, topics, seed)  # before opening anything
    engine = open_engine(conn or lake or settings.lake)
    try:
        result = score_day(
            engine, data_type, day, tol=tol, limit=limit, topics=topics, seed=seed,
            settings=settings, progress=False, detectors=detectors,
        )  # fmt: skip
    finally:
        engine.close()
    return result.summary()
