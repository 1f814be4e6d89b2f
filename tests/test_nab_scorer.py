"""The NAB scorer reproduces NAB's own published results for the shipped Numenta detector."""

import json

import numpy as np
import pandas as pd
import pytest

from opsradar.eval.nab import PROFILES, CostMatrix, Corpus, LabeledSeries, published_scores, score_corpus


@pytest.fixture(scope="module")
def nab_root(shared_data):
    return shared_data / "nab"


@pytest.fixture(scope="module")
def numenta(nab_root):
    corpus = Corpus.load(nab_root)
    thresholds = {p: v["threshold"] for p, v in json.loads((nab_root / "config/thresholds.json").read_text())["numenta"].items()}
    results = {}
    for name in corpus.series:
        category, file = name.split("/")
        results[name] = pd.read_csv(nab_root / "results/numenta" / category / f"numenta_{file}")
    return corpus, thresholds, results


@pytest.mark.parametrize("profile", PROFILES)
def test_per_file_raw_scores_match_nab_published(numenta, nab_root, profile):
    corpus, thresholds, results = numenta
    assert len(corpus.series) == 4
    ours = score_corpus(corpus, {n: r["anomaly_score"].to_numpy() for n, r in results.items()}, thresholds)[profile]
    published = pd.read_csv(nab_root / f"results/numenta/numenta_{profile}_scores.csv").set_index("File")
    assert set(published.index) == {f.file for f in ours.files}
    for f in ours.files:
        row = published.loc[f.file]
        assert f.score == pytest.approx(row["Score"], abs=0.01), f.file
        assert (f.tp, f.tn, f.fp, f.fn, f.total) == tuple(row[["TP", "TN", "FP", "FN", "Total_Count"]]), f.file


@pytest.mark.parametrize("profile", PROFILES)
def test_per_row_score_columns_match_nab(numenta, profile):
    corpus, thresholds, results = numenta
    cost = corpus.profiles[profile]
    for name, series in corpus.series.items():
        frame = results[name]
        rows = series.row_scores(frame["anomaly_score"].to_numpy(), thresholds[profile], cost)
        np.testing.assert_allclose(rows, frame[f"S(t)_{profile}"].to_numpy(), atol=1e-9, err_msg=name)


def test_normalisation_null_zero_perfect_hundred(numenta):
    corpus, _, _ = numenta
    never = {n: np.zeros(s.n) for n, s in corpus.series.items()}
    first = {}
    for n, s in corpus.series.items():
        first[n] = np.zeros(s.n)
        for lo, _hi in s.windows:
            first[n][lo] = 1.0
    for profile in PROFILES:
        null = score_corpus(corpus, never, {profile: 0.5})[profile]
        assert null.raw_score == pytest.approx(-corpus.profiles[profile].fn * corpus.n_windows())
        assert null.normalized_score == pytest.approx(0.0)
        perfect = score_corpus(corpus, first, {profile: 0.5})[profile]
        assert perfect.normalized_score == pytest.approx(100.0)


def test_scoring_rules_on_a_tiny_series():
    ts = pd.date_range("2024-01-01", periods=100, freq="min")
    series = LabeledSeries("toy.csv", ts, [(str(ts[50]), str(ts[59]))])
    cost = CostMatrix(tp=1.0, fp=0.11, fn=1.0)
    scores = np.zeros(100)
    early, late = scores.copy(), scores.copy()
    early[50], late[59] = 1, 1
    assert series.score(early, 0.5, cost).score == pytest.approx(1.0)  # first row of the window earns tpWeight
    # the last row sits at -(1/width) (NAB's `+ 1`), so it still earns S(-0.1) / S(-1)
    expected_late = (2 / (1 + np.exp(-0.5)) - 1) / (2 / (1 + np.exp(-5)) - 1)
    assert series.score(late, 0.5, cost).score == pytest.approx(expected_late)
    both = early.copy()
    both[55] = 1
    assert series.score(both, 0.5, cost).score == pytest.approx(1.0)  # later detections in a window are ignored
    fp_before = scores.copy()
    fp_before[20] = 1
    assert series.score(fp_before, 0.5, cost).score == pytest.approx(-0.11 - 1.0)  # FP before any window + missed window
    probation = scores.copy()
    probation[5] = 1  # row 5 < floor(0.15 * 100): never scored
    assert series.score(probation, 0.5, cost).score == pytest.approx(-1.0)
    just_after = scores.copy()
    just_after[60] = 1  # an FP right after a window costs less than one far from it
    far_after = scores.copy()
    far_after[99] = 1
    assert series.score(far_after, 0.5, cost).score < series.score(just_after, 0.5, cost).score < -1.0


def test_suppress_repeats_is_causal_one_alarm_per_quiet_period():
    from opsradar.models.metrics.anomaly import suppress_repeats

    scores = np.array([0.0, 0.9, 0.95, 0.9, 0.1, 0.9, 0.0, 0.0, 0.8, np.nan])
    assert np.flatnonzero(suppress_repeats(scores, 0.5, 3)).tolist() == [1, 5]  # 2, 3 within 3 rows of 1; 8 within 3 of 5
    assert np.flatnonzero(suppress_repeats(scores, 0.5, 2)).tolist() == [1, 5, 8]
    assert np.flatnonzero(suppress_repeats(scores, 0.5, 0)).tolist() == [1, 2, 3, 5, 8]
    # causal: what comes later never changes an earlier alarm
    assert suppress_repeats(scores[:6], 0.5, 3).tolist() == suppress_repeats(scores, 0.5, 3)[:6].tolist()


def test_refractory_scoring_scores_the_suppressed_alarms(numenta):
    from opsradar.models.metrics.anomaly import suppress_repeats

    corpus, thresholds, results = numenta
    scores = {n: r["anomaly_score"].to_numpy() for n, r in results.items()}
    plain = score_corpus(corpus, scores, thresholds)["standard"]
    fixed = score_corpus(corpus, scores, thresholds, refractory=50)["standard"]
    cost = corpus.profiles["standard"]
    for f, p in zip(fixed.files, plain.files):
        s = corpus.series[f.file]
        expected = s.score(suppress_repeats(scores[f.file], thresholds["standard"], 50).astype(float), 0.5, cost)
        assert (f.score, f.fp, f.tp) == (expected.score, expected.fp, expected.tp)
        assert f.fp <= p.fp and f.threshold == thresholds["standard"]
    grid = np.append(np.linspace(0.0, 1.0, 201), thresholds["standard"])
    tuned = score_corpus(corpus, scores, grid=grid, refractory=50)["standard"]
    assert tuned.raw_score >= fixed.raw_score  # the search covers the published threshold, so finds at least its score


def test_published_scores_equal_scoring_the_published_outputs(numenta, nab_root):
    corpus, thresholds, results = numenta
    ours = score_corpus(corpus, {n: r["anomaly_score"].to_numpy() for n, r in results.items()}, thresholds)
    published = published_scores(corpus, nab_root / "results/numenta")
    assert set(published) == set(PROFILES)
    for profile, p in published.items():
        assert p["detector"] == "numenta" and p["threshold"] == pytest.approx(thresholds[profile])
        assert p["normalized_score"] == pytest.approx(ours[profile].normalized_score, abs=0.05), profile


def test_published_scores_name_a_file_they_lack(numenta, nab_root, tmp_path):
    corpus, _, _ = numenta
    table = pd.read_csv(nab_root / "results/numenta/numenta_standard_scores.csv")
    table[~table["File"].str.startswith("realKnownCause/")].to_csv(tmp_path / "numenta_standard_scores.csv", index=False)
    with pytest.raises(ValueError, match="no row for realKnownCause/machine_temperature_system_failure.csv"):
        published_scores(corpus, tmp_path)


def test_published_scores_reject_a_folder_without_score_tables(numenta, tmp_path):
    corpus, _, _ = numenta
    with pytest.raises(FileNotFoundError, match="no <detector>_<profile>_scores.csv"):
        published_scores(corpus, tmp_path)


def test_nab_checksums_match_the_dev_files(nab_root):
    """scripts/fetch_nab.sh verifies the full corpus with these; the dev files are a sample of it."""
    import hashlib
    from pathlib import Path

    lines = (Path(__file__).parents[1] / "scripts/nab_v1.1.md5").read_text().splitlines()
    sums = {path: digest for digest, path in (line.split() for line in lines)}
    assert len(sums) == 59 and sum(p.startswith("data/") for p in sums) == 58
    dev = sorted((nab_root / "data").rglob("*.csv"))
    assert len(dev) == 4
    for csv in dev:
        assert hashlib.md5(csv.read_bytes()).hexdigest() == sums[csv.relative_to(nab_root).as_posix()], csv.name
