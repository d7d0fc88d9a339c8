"""One line for an operator when the jobs database cannot be reached: the variable, the URL, why, what to do.

A misspelled database name or a relative SQLite path resolved from another directory
otherwise surfaces as a hundred-line SQLAlchemy traceback (in `status`, `migrate`) or
not at all (a worker that says "ready" and then fails every job).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url


def explain(exc: BaseException, database_url: str) -> str:
    """`cannot reach the video database at DATABASE_URL=…: <reason>. <what to do>` (password masked)."""
    reason = _driver_reason(exc)
    path = sqlite_file(database_url)
    if path is not None:
        advice = (
            f"{path.parent} does not exist: create it, or point DATABASE_URL at the engine's file"
            if not path.parent.is_dir()
            else "Check the file's permissions, or point DATABASE_URL at the engine's file"
        )
    else:
        advice = (
            "Check DATABASE_URL's host, port and database name (create it with createdb), and that the server answers"
        )
    return f"cannot reach the video database at DATABASE_URL={located(database_url)}: {reason}. {advice}."


def located(database_url: str) -> str:
    """The URL with its password masked, and for SQLite the file it resolves to from here."""
    path = sqlite_file(database_url)
    return f"{redacted(database_url)} (the file {path})" if path is not None else redacted(database_url)


def redacted(database_url: str) -> str:
    return make_url(database_url).render_as_string(hide_password=True)


def sqlite_file(database_url: str) -> Path | None:
    url = make_url(database_url)
    return Path(url.database).resolve() if url.get_backend_name() == "sqlite" and url.database else None


def _driver_reason(exc: BaseException) -> str:
    """The driver's own words, first line only (psycopg's `FATAL:` text without the connection preamble)."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    text = lines[0] if lines else type(original).__name__
    return text.split("FATAL:", 1)[1].strip() if "FATAL:" in text else text
