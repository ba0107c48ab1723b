"""A daemon's database file read behind its back, with a read-only connection
of our own (the database is in WAL mode: a separate connection sees every
commit, and may read while the daemon runs)."""
import contextlib
import sqlite3


@contextlib.contextmanager
def connect(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def dump(db):
    """Every table's schema and rows, as SQL text."""
    with connect(db) as conn:
        return "\n".join(conn.iterdump())


def integrity(db):
    """PRAGMA integrity_check: "ok", or SQLite's list of problems."""
    with connect(db) as conn:
        return "\n".join(row[0] for row in conn.execute("PRAGMA integrity_check"))


def weights(db, model_id):
    """A model's newest published weights (a core checkpoint), as bytes; None
    when untrained."""
    with connect(db) as conn:
        row = conn.execute("SELECT v.weights FROM models m LEFT JOIN model_versions v"
                           " ON v.model_id = m.id AND v.version = m.version WHERE m.id = ?",
                           (model_id,)).fetchone()
    assert row is not None, f"no model {model_id} in {db}"
    return row[0]
