"""store: saved analyses round-trip exactly, survive concurrent writers, damaged records and old schemas."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from scalecore import DataError, __version__
from scalecore import store
from scalecore.store import Analysis, DataFile, Settings
from tests.synth import frame

ROOT = Path(__file__).resolve().parents[1]

#: The version-1 schema exactly as the first release wrote it (kept here, not imported, so a
#: change to the module cannot silently change what "an old database" means).
SCHEMA_V1_SQL = """
CREATE TABLE analyses (
    id      TEXT PRIMARY KEY,
    title   TEXT NOT NULL,
    created TEXT NOT NULL,
    record  TEXT NOT NULL
);
CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,
    data   BLOB NOT NULL
);
PRAGMA user_version = 1;
"""


def csv_bytes(seed=21, noise=0.01) -> bytes:
    df = frame("offset_power_law", seed=seed, noise=noise).rename(columns={"loss": "val loss"})
    return df.to_csv(index=False).encode()


def make_analysis(title="Dense baseline, Huber 1e-3", data: bytes | None = None, **kw) -> Analysis:
    base = dict(
        title=title,
        files=(DataFile("runs ü.csv", data if data is not None else csv_bytes()),),
        families=("offset_power_law", "power_law"),
        settings=Settings(x="params", metric="val loss", n_resamples=150, confidence_level=0.9, delta=1e-3,
                          seed=3, method="cases", target=1e12),
        mapping={"metric": "val loss"},
        exclusions={"r003": "diverged at step 2k", "r017": "lr too high"},
        scenarios=({"name": "next run", "compute": 1e22, "hardware": {"gpu": "H100", "mfu": 0.4}},),
        comparison={"family": "offset_power_law", "by": "group", "groups": ["a", "b"], "at": 1e10},
        note="Asked in review: and without r003? — answered below.\nSecond line <b>not html</b>",
    )
    base.update(kw)
    return Analysis(**base)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "analyses.sqlite3"
    monkeypatch.setenv(store.ENV_VAR, str(path))
    return path


# ------------------------------------------------------------------------------ round trip


def test_round_trip_equal_analysis_and_identical_numbers(db):
    original = make_analysis()
    results, errors = store.reproduce(original)
    assert not errors and set(results) == {"offset_power_law", "power_law"}
    original = replace(original, summary=store.summarize(results))
    aid = store.save(original)
    loaded = store.load(aid)
    assert loaded == replace(original, id=aid, created=loaded.created, updated=loaded.updated)
    assert loaded.files[0].data == original.files[0].data and loaded.version == __version__
    assert list(loaded.exclusions.items()) == [("r003", "diverged at step 2k"), ("r017", "lr too high")]
    again, errors = store.reproduce(loaded)
    assert not errors
    for family, boot in results.items():
        np.testing.assert_array_equal(again[family].samples, boot.samples)
        assert again[family].fit.params == boot.fit.params
        assert again[family].fit.n_excluded == 2
    assert store.summarize(again) == loaded.summary
    # the summary kept every digit through JSON
    alpha = loaded.summary["offset_power_law"]["params"]["alpha"]
    assert alpha["value"] == results["offset_power_law"].fit.params["alpha"]
    assert (alpha["low"], alpha["high"]) == results["offset_power_law"].confidence_interval["alpha"]


def test_to_dict_from_dict_round_trip_with_inline_data():
    a = make_analysis()
    d = json.loads(json.dumps(a.to_dict()))
    assert Analysis.from_dict(d) == a
    without = a.to_dict(include_data=False)
    assert "data_base64" not in without["files"][0]
    with pytest.raises(DataError, match="the bytes of `runs ü.csv` are missing"):
        Analysis.from_dict(without)
    assert Analysis.from_dict(without, {a.files[0].sha256: a.files[0].data}) == a


def test_save_again_updates_in_place_and_keeps_created(db):
    aid = store.save(make_analysis())
    first = store.load(aid)
    store.save(replace(first, note="updated note"))
    second = store.load(aid)
    assert second.note == "updated note" and second.created == first.created
    assert len(store.list_analyses()) == 1


def test_list_rename_delete_and_data_deduplicated(db):
    data = csv_bytes()
    a = store.save(make_analysis("first", data=data))
    b = store.save(make_analysis("second", data=data, families=("power_law",)))
    other = store.save(make_analysis("third", data=csv_bytes(seed=5)))
    listing = {item.id: item for item in store.list_analyses()}
    assert set(listing) == {a, b, other}
    assert listing[b].families == ("power_law",) and listing[a].dataset == "runs ü.csv"
    assert listing[a].created and not listing[a].damaged
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 2  # the same bytes are stored once
    store.rename(a, "  first, renamed  ")
    assert store.load(a).title == "first, renamed"
    assert store.list_analyses()[0].id == a  # most recently updated first
    store.delete(a)
    assert con.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 2  # still used by b
    store.delete(b)
    assert con.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1
    assert [item.id for item in store.list_analyses()] == [other]
    with pytest.raises(DataError, match=f"there is no saved analysis `{a}`"):
        store.load(a)
    with pytest.raises(DataError, match="to delete"):
        store.delete(a)
    with pytest.raises(DataError, match="to rename"):
        store.rename(a, "x")


def test_ids_are_short_url_safe_and_checked(db):
    aid = store.save(make_analysis())
    assert len(aid) == 10 and all(c in store.ID_ALPHABET for c in aid)
    for bad in ("../etc", "a b", "", "x" * 80, None):
        with pytest.raises(DataError, match="is not a saved-analysis id"):
            store.load(bad)


def test_values_are_bound_not_spliced(db):
    title = "Robert'); DROP TABLE analyses;--"
    aid = store.save(make_analysis(title))
    assert store.load(aid).title == title
    store.rename(aid, "O'Brien \"quoted\" ; --")
    assert store.list_analyses()[0].title == "O'Brien \"quoted\" ; --"


def test_checks_what_it_saves(db):
    with pytest.raises(DataError, match="needs a title"):
        store.save(make_analysis("   "))
    with pytest.raises(DataError, match="keep it under 200"):
        store.save(make_analysis("x" * 201))
    with pytest.raises(DataError, match="no files were given"):
        store.save(make_analysis(files=()))


# ------------------------------------------------------------------------------ the database file


def test_path_from_environment_and_default_outside_the_repository(db, monkeypatch):
    assert store.default_path() == db
    store.save(make_analysis())
    assert db.exists()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION == 2
    monkeypatch.delenv(store.ENV_VAR)
    monkeypatch.delenv("SCALECORE_HOME", raising=False)
    default = store.default_path()
    assert default == Path.home() / ".local" / "share" / "scalecore" / "analyses.sqlite3"
    assert ROOT not in default.parents
    # a server given its own data directory (as every browser test and benchmark is) keeps its
    # analyses there, beside its uploads, and never writes to the user's database
    monkeypatch.setenv("SCALECORE_HOME", str(db.parent / "home"))
    assert store.default_path() == db.parent / "home" / "analyses.sqlite3"


def _save_many(path: str, worker: int, n: int, barrier) -> list[str]:
    import os

    os.environ[store.ENV_VAR] = path
    data = csv_bytes()  # every worker saves the same bytes: the blob insert races too
    barrier.wait()
    return [store.save(make_analysis(f"worker {worker} #{i}", data=data)) for i in range(n)]


def test_two_processes_saving_at_once_lose_nothing(db):
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ctx.Pool(2) as pool:
            jobs = [pool.apply_async(_save_many, (str(db), w, 50, barrier)) for w in (0, 1)]
            ids = [aid for job in jobs for aid in job.get(timeout=240)]
    assert len(ids) == len(set(ids)) == 100
    listing = store.list_analyses()
    assert {item.id for item in listing} == set(ids)
    assert sorted(item.title for item in listing) == sorted(f"worker {w} #{i}" for w in (0, 1) for i in range(50))
    for aid in ids[::7]:
        assert store.load(aid).files[0].data == csv_bytes()


def test_a_damaged_record_fails_alone(db):
    good = store.save(make_analysis("good one"))
    bad = store.save(make_analysis("broken one"))
    con = sqlite3.connect(db)
    con.execute("UPDATE analyses SET record = ? WHERE id = ?", ('{"format": 2, "files": [', bad))
    con.commit()
    with pytest.raises(DataError, match=rf"the saved analysis `{bad}` \(“broken one”\) is damaged.*other saved "
                                        "analyses are not affected"):
        store.load(bad)
    listing = {item.id: item for item in store.list_analyses()}
    assert listing[bad].damaged and not listing[good].damaged
    assert store.load(good).title == "good one"
    store.rename(bad, "broken, renamed")  # still manageable
    store.delete(bad)
    assert [item.id for item in store.list_analyses()] == [good]


def test_a_missing_blob_is_damage_too(db):
    aid = store.save(make_analysis())
    con = sqlite3.connect(db)
    con.execute("PRAGMA foreign_keys = OFF")
    con.execute("DELETE FROM blobs")
    con.commit()
    with pytest.raises(DataError, match="is damaged.*bytes of `runs ü.csv` are missing"):
        store.load(aid)


def test_a_database_written_with_schema_version_1_opens(db):
    data = csv_bytes()
    sha = DataFile("old.csv", data).sha256
    record = {  # record format 1: exclusions were a list of run ids, no reasons, no scenarios
        "format": 1,
        "files": [{"name": "old.csv", "sha256": sha}],
        "mapping": {"metric": "val loss"},
        "excluded": ["r003"],
        "families": ["offset_power_law"],
        "settings": {"x": "params", "metric": "val loss", "n_resamples": 100, "confidence": 0.95,
                     "delta": 0.001, "seed": 0, "method": "cases"},
        "version": "0.0.9",
        "summary": {},
    }
    con = sqlite3.connect(db)
    con.executescript(SCHEMA_V1_SQL)
    con.execute("INSERT INTO blobs (sha256, data) VALUES (?, ?)", (sha, data))
    con.execute("INSERT INTO analyses (id, title, created, record) VALUES (?, ?, ?, ?)",
                ("oldone01", "Saved by 0.0.9", "2026-01-02T03:04:05+00:00", json.dumps(record)))
    con.execute("INSERT INTO analyses (id, title, created, record) VALUES (?, ?, ?, ?)",
                ("oldbad01", "Damaged before the upgrade", "2026-01-01T00:00:00+00:00", "{oops"))
    con.commit()
    con.close()

    (listed_bad, listed) = sorted(store.list_analyses(), key=lambda item: item.id)
    assert listed.id == "oldone01" and listed.dataset == "old.csv" and listed.families == ("offset_power_law",)
    assert listed.updated == "2026-01-02T03:04:05+00:00" and not listed.damaged
    assert listed_bad.damaged
    old = store.load("oldone01")
    assert old.title == "Saved by 0.0.9" and old.version == "0.0.9"
    assert old.exclusions == {"r003": ""} and old.settings.confidence_level == 0.95 and old.settings.n_resamples == 100
    assert old.files[0].data == data and old.scenarios == () and old.note == ""
    results, errors = store.reproduce(old)
    assert not errors and results["offset_power_law"].fit.n_excluded == 1
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == store.SCHEMA_VERSION
    # and it can be saved again in the current layout, keeping its date
    store.save(replace(old, note="reviewed"))
    assert store.load("oldone01").note == "reviewed"
    assert store.load("oldone01").created == "2026-01-02T03:04:05+00:00"


def test_a_newer_schema_is_refused_with_a_clear_message(db):
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 99")
    con.commit()
    con.close()
    with pytest.raises(DataError, match="written by a newer scalecore \\(schema 99"):
        store.list_analyses()


def test_not_a_database(db):
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DataError, match="is not a usable analyses database"):
        store.list_analyses()


# ------------------------------------------------------------------------------ the one Settings


def test_the_store_the_pages_and_the_library_share_one_settings():
    import scalecore
    import ui.analysis
    import ui.downstream

    assert Settings is scalecore.Settings is ui.analysis.Settings is ui.downstream.Settings


def test_settings_round_trip_through_the_store(db):
    settings = Settings(x="compute", metric="val loss", n_resamples=40, confidence_level=0.8, delta=2e-3, seed=None,
                        method="residuals", loss="ls", target=3e21, flops_per_token_param=8.0, accuracy_delta=0.05)
    aid = store.save(make_analysis(settings=settings))
    loaded = store.load(aid).settings
    assert loaded == settings and type(loaded) is Settings
    assert json.loads(json.dumps(settings.to_dict())) == settings.to_dict()
    assert Settings.from_dict(settings.to_dict()) == settings
    assert Settings(**dict(settings.items())) == settings  # the pages' cache key gives it back


def test_old_settings_records_still_load():
    # names of the first release ("confidence"), keys this version no longer knows, and missing ones
    old = Settings.from_dict({"x": "params", "confidence": 0.9, "n_resamples": 100, "huber": True, "colour": "red"})
    assert old == Settings(x="params", confidence_level=0.9, n_resamples=100)
    assert Settings.from_dict(None) == Settings() and Settings.from_dict({}).accuracy_delta == 0.02


@pytest.mark.parametrize("kwargs, message", [
    ({"n_resamples": 1}, "`n_resamples` must be an integer of at least 2; got 1"),
    ({"confidence_level": 95}, r"`confidence_level` must be between 0 and 1 \(e.g. 0.95\); got 95"),
    ({"method": "jackknife"}, "`method` must be one of cases, residuals, groups"),
    ({"seed": -2}, "`seed` must be a non-negative integer or None; got -2"),
    ({"delta": -1.0}, "`delta` must be a positive number"),
    ({"loss": "l1"}, "`loss` must be one of huber, ls"),
    ({"accuracy_delta": 0}, "`accuracy_delta` must be a positive number"),
    ({"x": "flops"}, "`x` must be one of params, tokens, compute or None"),
])
def test_settings_say_what_is_wrong(kwargs, message):
    from scalecore import FitError

    with pytest.raises(FitError, match=message):
        Settings(**kwargs)
    with pytest.raises(ValueError):  # what the pages catch when a link carries a bad value
        Settings(**kwargs)


def test_reproduce_is_the_public_fit_and_bootstrap_of_the_settings():
    from scalecore import FitSpec, fit

    analysis = make_analysis(families=("offset_power_law",))
    got, errors = store.reproduce(analysis)
    assert not errors
    s = analysis.settings
    spec = FitSpec("offset_power_law", x="params", y="val loss", exclude=("r003", "r017"), delta=1e-3)
    assert s.spec("offset_power_law", tuple(analysis.exclusions)) == spec
    want = fit(analysis.runs(), spec).bootstrap(150, seed=3, confidence_level=0.9, method="cases")
    assert got["offset_power_law"].samples.tobytes() == want.samples.tobytes()
    assert got["offset_power_law"].fit.n_excluded == 2


def test_new_ids_have_no_characters_read_alike():
    ids = {store.new_id() for _ in range(2000)}
    assert len(ids) == 2000  # 31^10 possibilities: a clash here would be a broken generator
    used = set("".join(ids))
    assert used <= set("23456789abcdefghjkmnpqrstuvwxyz")
    assert not used & set("0O1lIiL")
    assert all(len(i) == 10 for i in ids)
