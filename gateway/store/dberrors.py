"""Reading a database exception: does it mean the database is unavailable, and logging it
without the values it was given.

Classified by exception type and the drivers' structured fields, never by message text.
Unavailable means the database cannot be reached or used right now, so the same request
may succeed later: SQLAlchemy's ``DisconnectionError`` and pool ``TimeoutError``; a
``DBAPIError`` for which SQLAlchemy invalidated the connection; psycopg's
``OperationalError`` or ``InterfaceError`` (refused, reset, closed, server shutting down);
SQLite's ``OperationalError`` with any result code but ``SQLITE_ERROR`` (``CANTOPEN``,
``BUSY``, ``IOERR``...; SQLite also uses ``SQLITE_ERROR`` for a syntax error or a missing
table, which are bugs, not outages). The driver exceptions count wrapped by SQLAlchemy
(as ``OperationalError``/``InterfaceError``) or raised bare.
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc as sa_exc

_SQLITE_PRIMARY_CODE = 0xFF


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database is unreachable or unusable for now (see the
    module docstring); False for anything else, including errors that are not a database's."""
    if isinstance(error, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        wraps_outage = isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError) and \
            _driver_unavailable(error.orig)
        return error.connection_invalidated or wraps_outage
    return _driver_unavailable(error)


def _driver_unavailable(error: BaseException | None) -> bool:
    if isinstance(error, sqlite3.OperationalError):
        return error.sqlite_errorcode & _SQLITE_PRIMARY_CODE != sqlite3.SQLITE_ERROR
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


def hide_parameters(error: BaseException) -> None:
    """Make every SQLAlchemy statement error in ``error``'s chain (causes and contexts)
    render without its bound parameters, whatever its engine's ``hide_parameters`` said."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, sa_exc.StatementError):
            current.hide_parameters = True
        pending += [linked for linked in (current.__cause__, current.__context__) if linked is not None]
