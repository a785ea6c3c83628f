"""Saved analyses in an embedded SQLite database: everything needed to reproduce a fit, by id.

An :class:`Analysis` holds the data itself (the CSV bytes), the column mapping, the excluded runs
with their reasons, the families, the settings (x, metric, resamples, confidence level, Huber
delta, seed, method, target), budget scenarios and a comparison as plain dicts, a title and a
note, the scalecore version, timestamps and a summary of the results. :func:`reproduce` refits it
from the stored bytes, giving identical numbers (the bootstrap is seeded).

The database (``$SCALECORE_DB``, default ``analyses.sqlite3`` in scalecore's data directory,
``$SCALECORE_HOME`` or ``~/.local/share/scalecore``):

- runs in WAL mode with a busy timeout; every write is one ``BEGIN IMMEDIATE`` transaction, so
  sessions saving at the same time wait for each other instead of losing work;
- stores each data file once, keyed by its SHA-256 (``blobs``), referenced from ``analysis_files``;
  blobs no longer referenced are removed with the last analysis that used them;
- is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` upgrade an older file in place when
  it is opened, so analyses saved by an older scalecore still open;
- uses bound parameters for every value in every statement.

A record that cannot be read (bad JSON, a missing blob) raises :class:`DataError` naming that id;
the others still list and open.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from .blobs import home
from .errors import DataError, FitError, ScaleCoreError
from .spec import Settings  # the one Settings of an analysis (re-exported here for old imports)

ENV_VAR = "SCALECORE_DB"
#: The record layout written by this version (inside the JSON); older layouts are read too.
RECORD_FORMAT = 2
MAX_TITLE = 200
MAX_NOTE = 20_000
BUSY_TIMEOUT_MS = 30_000
_ID = re.compile(r"[A-Za-z0-9_-]{4,40}")


def default_path() -> Path:
    """``$SCALECORE_DB``, else ``analyses.sqlite3`` in scalecore's data directory (``$SCALECORE_HOME``,
    else ``~/.local/share/scalecore``; never the repository): a server started with its own home
    keeps its saved analyses there too, not in the user's."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    return home() / "analyses.sqlite3"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _version() -> str:
    from . import __version__

    return __version__


# ------------------------------------------------------------------------------ the analysis


@dataclass(frozen=True)
class DataFile:
    """One input file: its name and its bytes exactly as uploaded."""

    name: str
    data: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Analysis:
    """A saved analysis: the data, how it was fitted, what came out, and who wrote what about it.

    ``exclusions`` maps run id -> reason (in the order they were excluded); ``scenarios`` are
    budget scenarios as plain dicts (``Scenario.to_dict()``); ``comparison`` the settings of a
    comparison of groups (``family``, ``by``, ``groups``, ``x``, ``at``, and ``shared`` when the
    groups were also fitted jointly: ``"exponents"``, ``"E"``, ``"none"`` or parameter names, see
    :func:`scalecore.joint.joint_fit`; the report and the Review page refit it), or None; ``summary`` the
    parameters with intervals per family when it was saved (see :func:`summarize`).
    """

    title: str
    files: tuple[DataFile, ...]
    families: tuple[str, ...]
    settings: Settings = Settings()
    mapping: dict = field(default_factory=dict)
    exclusions: dict = field(default_factory=dict)
    scenarios: tuple[dict, ...] = ()
    comparison: dict | None = None
    note: str = ""
    dataset: str = ""
    source: str = ""
    version: str = field(default_factory=_version)
    created: str = ""
    updated: str = ""
    id: str | None = None
    summary: dict = field(default_factory=dict)
    #: The Li et al. (2025) reporting checklist, ``((item, value), ...)``, filled when the analysis
    #: is saved with its results (:func:`with_checklist`), so a shared link shows what was used.
    checklist: tuple = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "checklist", tuple((str(k), str(v)) for k, v in self.checklist))
        object.__setattr__(self, "files", tuple(self.files))
        object.__setattr__(self, "families", tuple(self.families))
        object.__setattr__(self, "scenarios", tuple(dict(s) for s in self.scenarios))
        object.__setattr__(self, "exclusions", {str(k): str(v or "") for k, v in dict(self.exclusions).items()})
        object.__setattr__(self, "mapping", dict(self.mapping))
        if not self.dataset:
            object.__setattr__(self, "dataset", ", ".join(f.name for f in self.files))

    # ---------------------------------------------------------------- plain types

    def to_dict(self, include_data: bool = True) -> dict:
        """JSON-ready plain types. With ``include_data`` the file bytes are included (base64)."""
        import base64

        files = []
        for f in self.files:
            entry = {"name": f.name, "sha256": f.sha256, "size": f.size}
            if include_data:
                entry["data_base64"] = base64.b64encode(f.data).decode("ascii")
            files.append(entry)
        return {
            "format": RECORD_FORMAT,
            "id": self.id,
            "title": self.title,
            "note": self.note,
            "dataset": self.dataset,
            "source": self.source,
            "files": files,
            "mapping": dict(self.mapping),
            "exclusions": [{"run_id": k, "reason": v} for k, v in self.exclusions.items()],
            "families": list(self.families),
            "settings": self.settings.to_dict(),
            "scenarios": [dict(s) for s in self.scenarios],
            "comparison": dict(self.comparison) if self.comparison is not None else None,
            "version": self.version,
            "created": self.created,
            "updated": self.updated,
            "summary": self.summary,
            "checklist": [[k, v] for k, v in self.checklist],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], data: Mapping[str, bytes] | None = None) -> Analysis:
        """The inverse of :meth:`to_dict`; file bytes come from ``data_base64`` or from ``data``
        (sha256 -> bytes). Reads every record format written so far (format 1: exclusions were a
        list of run ids without reasons; no scenarios, comparison or note)."""
        import base64

        fmt = int(d.get("format", 1))
        if fmt > RECORD_FORMAT:
            raise DataError(f"this analysis was saved by a newer scalecore (record format {fmt}); upgrade scalecore to open it")
        files = []
        for entry in d.get("files", []):
            if "data_base64" in entry:
                raw = base64.b64decode(entry["data_base64"])
            elif data is not None and entry["sha256"] in data:
                raw = data[entry["sha256"]]
            else:
                raise DataError(f"the bytes of `{entry.get('name')}` are missing")
            if hashlib.sha256(raw).hexdigest() != entry["sha256"]:
                raise DataError(f"the bytes of `{entry.get('name')}` do not match their SHA-256")
            files.append(DataFile(entry["name"], raw))
        raw_excl = d.get("exclusions", d.get("excluded", []))
        if isinstance(raw_excl, Mapping):
            exclusions = dict(raw_excl)
        else:
            exclusions = {}
            for item in raw_excl:
                if isinstance(item, Mapping):
                    exclusions[str(item["run_id"])] = str(item.get("reason") or "")
                else:
                    exclusions[str(item)] = ""
        return cls(
            title=str(d.get("title", "")),
            files=tuple(files),
            families=tuple(d.get("families", ())),
            settings=Settings.from_dict(d.get("settings")),
            mapping=dict(d.get("mapping") or {}),
            exclusions=exclusions,
            scenarios=tuple(d.get("scenarios") or ()),
            comparison=d.get("comparison"),
            note=str(d.get("note") or ""),
            dataset=str(d.get("dataset") or ""),
            source=str(d.get("source") or ""),
            version=str(d.get("version") or "unknown"),
            created=str(d.get("created") or ""),
            updated=str(d.get("updated") or d.get("created") or ""),
            id=d.get("id"),
            summary=dict(d.get("summary") or {}),
            checklist=tuple(tuple(item) for item in d.get("checklist") or ()),
        )

    # ---------------------------------------------------------------- reproducing

    def runs(self):
        """The runs, read from the stored bytes with the stored mapping."""
        from .data import load_runs

        if not self.files:
            raise DataError(f"the analysis `{self.title}` has no data files")
        return load_runs([f.data for f in self.files], mapping={k: v for k, v in self.mapping.items()} or None,
                         names=[f.name for f in self.files],
                         flops_per_token_param=self.settings.flops_per_token_param)


@dataclass(frozen=True)
class Listing:
    """One row of :func:`list_analyses` (read without opening the record)."""

    id: str
    title: str
    created: str
    updated: str
    dataset: str
    families: tuple[str, ...]
    damaged: bool = False


def fit_family(runs, family: str, settings: Settings, exclude: Sequence[str] = ()):
    """The fit and bootstrap of one family with ``settings`` (what the Explore page computes)."""
    from .fitting import fit

    return fit(runs, settings.spec(family, exclude)).bootstrap(**settings.bootstrap_options)


def reproduce(analysis: Analysis, runs=None) -> tuple[dict, dict]:
    """Refit every family of ``analysis`` from its stored bytes: ``({family: BootstrapResult},
    {family: error message})`` -- a family that cannot be fitted does not hide the others."""
    runs = analysis.runs() if runs is None else runs
    results, errors = {}, {}
    for family in analysis.families:
        try:
            results[family] = fit_family(runs, family, analysis.settings, tuple(analysis.exclusions))
        except ScaleCoreError as exc:
            errors[family] = str(exc)
    return results, errors


def with_checklist(analysis: Analysis, runs=None, results: Mapping | None = None) -> Analysis:
    """``analysis`` carrying its Li et al. (2025) checklist (:func:`scalecore.checklist.of_analysis`),
    computed from ``runs`` and ``results`` (read and refitted from its bytes when not given)."""
    from .checklist import of_analysis

    runs = analysis.runs() if runs is None else runs
    if results is None:
        results, _ = reproduce(analysis, runs)
    return replace(analysis, checklist=tuple(of_analysis(analysis, runs, results)))


def _num(v) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def summarize(results: Mapping[str, Any]) -> dict:
    """The parameters with intervals per family, as saved with an analysis (plain types)."""
    out = {}
    for family, boot in results.items():
        ci = boot.confidence_interval
        out[family] = {
            "params": {n: {"value": _num(v), "low": _num(ci[n][0]), "high": _num(ci[n][1])}
                       for n, v in boot.fit.params.items()},
            "interval": boot.interval_label,
            "x": boot.fit.x,
            "y": boot.fit.y,
            "n_points": boot.fit.n_points,
            "n_excluded": boot.fit.n_excluded,
            "n_failed": boot.n_failed,
        }
    return out


# ------------------------------------------------------------------------------ the database

#: Schema of version 1: the analysis as one JSON record, data files in ``blobs``.
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS analyses (
    id      TEXT PRIMARY KEY,
    title   TEXT NOT NULL,
    created TEXT NOT NULL,
    record  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    data   BLOB NOT NULL
);
"""

#: Version 2: the list columns (updated, dataset, families) next to the record, so the list never
#: parses records; which analysis uses which blob (so deleting an analysis frees its data).
SCHEMA_V2 = """
ALTER TABLE analyses ADD COLUMN updated  TEXT NOT NULL DEFAULT '';
ALTER TABLE analyses ADD COLUMN dataset  TEXT NOT NULL DEFAULT '';
ALTER TABLE analyses ADD COLUMN families TEXT NOT NULL DEFAULT '[]';
CREATE TABLE IF NOT EXISTS analysis_files (
    analysis_id TEXT NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    sha256      TEXT NOT NULL REFERENCES blobs(sha256),
    PRIMARY KEY (analysis_id, position)
);
CREATE INDEX IF NOT EXISTS analysis_files_sha256 ON analysis_files(sha256);
CREATE INDEX IF NOT EXISTS analyses_updated ON analyses(updated);
"""


def _migrate_1_to_2(con: sqlite3.Connection) -> None:
    for statement in SCHEMA_V2.split(";"):
        if statement.strip():
            con.execute(statement)
    rows = con.execute("SELECT id, created, record FROM analyses").fetchall()
    for aid, created, record in rows:
        try:
            d = json.loads(record)
            files = [(i, f["name"], f["sha256"]) for i, f in enumerate(d.get("files", []))]
            dataset = d.get("dataset") or ", ".join(name for _, name, _ in files)
            families = json.dumps(list(d.get("families", [])))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # a damaged record stays damaged; the migration goes on
        con.execute("UPDATE analyses SET updated = ?, dataset = ?, families = ? WHERE id = ?",
                    (created, dataset, families, aid))
        for pos, name, sha in files:
            con.execute("INSERT OR IGNORE INTO analysis_files (analysis_id, position, name, sha256) VALUES (?, ?, ?, ?)",
                        (aid, pos, name, sha))


def _migrate_0_to_1(con: sqlite3.Connection) -> None:
    for statement in SCHEMA_V1.split(";"):
        if statement.strip():
            con.execute(statement)


#: ``MIGRATIONS[v]`` upgrades a database at version ``v`` to ``v + 1`` (inside one transaction).
MIGRATIONS = {0: _migrate_0_to_1, 1: _migrate_1_to_2}
SCHEMA_VERSION = len(MIGRATIONS)


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise DataError(f"cannot open the analyses database `{path}`: {exc}") from None
    try:
        con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")
        con.execute("PRAGMA synchronous = NORMAL")
        con.execute("PRAGMA foreign_keys = ON")
        _retry_locked(lambda: _use_wal(con))
        _retry_locked(lambda: _upgrade(con, path))
    except sqlite3.DatabaseError as exc:
        con.close()
        raise DataError(f"`{path}` is not a usable analyses database ({exc}). Move it away, or point "
                        f"{ENV_VAR} at another file.") from None
    except BaseException:
        con.close()
        raise
    return con


def _use_wal(con: sqlite3.Connection) -> None:
    """Switch the file to WAL once (the mode is stored in the file; later opens only check it)."""
    if str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        con.execute("PRAGMA journal_mode = WAL")


def _retry_locked(step, seconds: float = BUSY_TIMEOUT_MS / 1000):
    """Run ``step``, retrying while SQLite reports the file locked.

    SQLite answers SQLITE_BUSY at once, without waiting for the busy timeout, in a few places --
    switching the journal mode, or when two connections create a new file at the same moment --
    so the first opening of a database by two processes needs this loop.
    """
    import random
    import time

    deadline = time.monotonic() + seconds
    pause = 0.005
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
        time.sleep(pause * (1 + random.random()))
        pause = min(pause * 2, 0.2)


def _upgrade(con: sqlite3.Connection, path: Path) -> None:
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise DataError(f"the analyses database `{path}` was written by a newer scalecore (schema {version}, "
                        f"this one knows {SCHEMA_VERSION}); upgrade scalecore to open it")
    con.execute("BEGIN IMMEDIATE")
    try:
        version = con.execute("PRAGMA user_version").fetchone()[0]  # another process may have done it
        while version < SCHEMA_VERSION:
            MIGRATIONS[version](con)
            version += 1
            con.execute(f"PRAGMA user_version = {int(version)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


@contextmanager
def _db(path=None, write: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection for one operation; with ``write`` the body is one immediate transaction."""
    con = _connect(Path(path) if path is not None else default_path())
    try:
        if write:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        else:
            yield con
    finally:
        con.close()


def _check_id(analysis_id: Any) -> str:
    if not isinstance(analysis_id, str) or not _ID.fullmatch(analysis_id):
        raise DataError(f"`{analysis_id}` is not a saved-analysis id (4-40 letters, digits, - or _); "
                        "the link may be cut short")
    return analysis_id


def _check_title(title: Any) -> str:
    title = " ".join(str(title or "").split())
    if not title:
        raise DataError("an analysis needs a title; type a few words that say what it shows")
    if len(title) > MAX_TITLE:
        raise DataError(f"the title has {len(title)} characters; keep it under {MAX_TITLE}")
    return title


#: The characters of a new id: lower-case letters and digits without the ones read alike aloud or on
#: a projector (0/o, 1/l/i), nor upper case, so an id copied by hand comes out right.
ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
ID_LENGTH = 10  # 31^10: about 49.5 random bits


def new_id() -> str:
    """A short random id of :data:`ID_ALPHABET` characters (ids saved before keep working)."""
    return "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH))


# ------------------------------------------------------------------------------ the API


def save(analysis: Analysis, path=None) -> str:
    """Store ``analysis`` and return its id.

    An analysis without an id (or with one that is not stored) gets a new id; one with the id of
    a stored analysis replaces it (``created`` is kept, ``updated`` set).

    The title is stored on one line: every run of whitespace (spaces, tabs, line breaks, and the
    other characters ``str.split`` splits on, such as the separators ``\\x1c``-``\\x1f``) becomes one
    space and the ends are trimmed, so :func:`load` returns ``" ".join(title.split())``. A title
    that is empty after that, or longer than :data:`MAX_TITLE` characters, raises DataError.
    Everything else (note, exclusions, mapping, file names and bytes) comes back as given.
    """
    if not isinstance(analysis, Analysis):
        raise TypeError(f"`analysis` must be an Analysis; got {type(analysis).__name__}")
    title = _check_title(analysis.title)
    if len(analysis.note) > MAX_NOTE:
        raise DataError(f"the note has {len(analysis.note)} characters; keep it under {MAX_NOTE}")
    if not analysis.files:
        raise DataError("an analysis needs its data: no files were given")
    if not analysis.families:
        raise FitError("an analysis needs at least one fit family")
    record = analysis.to_dict(include_data=False)
    for key in ("id", "title", "created", "updated"):
        record.pop(key)
    text = json.dumps(record, allow_nan=True, separators=(",", ":"))
    now = _now()
    families = json.dumps(list(analysis.families))
    with _db(path, write=True) as con:
        aid = analysis.id
        existing = None
        if aid is not None:
            _check_id(aid)
            existing = con.execute("SELECT created FROM analyses WHERE id = ?", (aid,)).fetchone()
        if existing is None:
            aid = aid or new_id()
            while con.execute("SELECT 1 FROM analyses WHERE id = ?", (aid,)).fetchone():
                aid = new_id()
            created = analysis.created or now
            con.execute("INSERT INTO analyses (id, title, created, record, updated, dataset, families) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", (aid, title, created, text, now, analysis.dataset, families))
        else:
            con.execute("UPDATE analyses SET title = ?, record = ?, updated = ?, dataset = ?, families = ? WHERE id = ?",
                        (title, text, now, analysis.dataset, families, aid))
            con.execute("DELETE FROM analysis_files WHERE analysis_id = ?", (aid,))
        for pos, f in enumerate(analysis.files):
            con.execute("INSERT OR IGNORE INTO blobs (sha256, data) VALUES (?, ?)", (f.sha256, sqlite3.Binary(f.data)))
            con.execute("INSERT INTO analysis_files (analysis_id, position, name, sha256) VALUES (?, ?, ?, ?)",
                        (aid, pos, f.name, f.sha256))
        if existing is not None:
            _collect_garbage(con)  # the replaced version may have used other files
    return aid


def load(analysis_id: str, path=None) -> Analysis:
    """The saved analysis ``analysis_id``; :class:`DataError` if there is none or it is damaged."""
    aid = _check_id(analysis_id)
    with _db(path) as con:
        row = con.execute("SELECT title, created, updated, record FROM analyses WHERE id = ?", (aid,)).fetchone()
        if row is None:
            raise DataError(f"there is no saved analysis `{aid}` (it may have been deleted, or saved on another server)")
        title, created, updated, record = row
        try:
            d = json.loads(record)
            if not isinstance(d, dict):
                raise ValueError("the record is not a JSON object")
            shas = [f["sha256"] for f in d.get("files", [])]
        except (ValueError, TypeError, KeyError) as exc:
            raise _damaged(aid, title, exc) from None
        data = {}
        for sha in shas:
            blob = con.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
            if blob is not None:
                data[sha] = bytes(blob[0])
    try:
        analysis = Analysis.from_dict(d, data)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        if isinstance(exc, DataError) and "newer scalecore" in str(exc):
            raise
        raise _damaged(aid, title, exc) from None
    return replace(analysis, id=aid, title=title, created=created, updated=updated or created)


def _damaged(aid: str, title: str, exc: Exception) -> DataError:
    return DataError(f"the saved analysis `{aid}` (“{title}”) is damaged and cannot be opened ({exc}); "
                     "the other saved analyses are not affected. Delete it, or restore the database from a backup.")


def list_analyses(path=None) -> list[Listing]:
    """Every saved analysis, most recently updated first (records are not opened, only checked)."""
    with _db(path) as con:
        rows = con.execute("SELECT id, title, created, updated, dataset, families, record FROM analyses "
                           "ORDER BY updated DESC, created DESC, id").fetchall()
    out = []
    for aid, title, created, updated, dataset, families, record in rows:
        damaged = False
        try:
            fams = tuple(str(f) for f in json.loads(families))
        except (ValueError, TypeError):
            fams, damaged = (), True
        try:
            damaged = damaged or not isinstance(json.loads(record), dict)
        except (ValueError, TypeError):
            damaged = True
        out.append(Listing(aid, title, created, updated or created, dataset, fams, damaged))
    return out


def rename(analysis_id: str, title: str, path=None) -> None:
    """Give a saved analysis a new title (works on a damaged record too)."""
    aid, title = _check_id(analysis_id), _check_title(title)
    with _db(path, write=True) as con:
        cur = con.execute("UPDATE analyses SET title = ?, updated = ? WHERE id = ?", (title, _now(), aid))
        if cur.rowcount == 0:
            raise DataError(f"there is no saved analysis `{aid}` to rename")


def delete(analysis_id: str, path=None) -> None:
    """Delete a saved analysis (and the data files no other analysis uses)."""
    aid = _check_id(analysis_id)
    with _db(path, write=True) as con:
        con.execute("DELETE FROM analysis_files WHERE analysis_id = ?", (aid,))
        cur = con.execute("DELETE FROM analyses WHERE id = ?", (aid,))
        if cur.rowcount == 0:
            raise DataError(f"there is no saved analysis `{aid}` to delete")
        _collect_garbage(con)


def _collect_garbage(con: sqlite3.Connection) -> None:
    con.execute("DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM analysis_files)")
