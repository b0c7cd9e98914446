"""The tenant's database. Parameters are `?` placeholders; values are Python
values (None, bool, int, float, str, bytes; anything else as JSON). Rows come
back as dicts by column name. A failure raises an `HttpError` with the same
code as in every SDK (`DB_CONSTRAINT` is a 409, `DB_TIMEOUT` a 503, …)."""

import json as _json
from typing import Any, Dict, List, Optional

from componentize_py_types import Err as _Err
from wit_world.imports import db as _db

from .errors import _failure

__all__ = ["query", "execute", "transaction", "Transaction"]

Row = Dict[str, Any]


def _value(v: Any) -> "_db.Value":
    if v is None:
        return _db.Value_Null()
    if isinstance(v, bool):
        return _db.Value_Boolean(v)
    if isinstance(v, int):
        return _db.Value_Integer(v)
    if isinstance(v, float):
        return _db.Value_Real(v)
    if isinstance(v, str):
        return _db.Value_Text(v)
    if isinstance(v, (bytes, bytearray)):
        return _db.Value_Blob(bytes(v))
    return _db.Value_Json(_json.dumps(v))


def _python(v: "_db.Value") -> Any:
    if isinstance(v, _db.Value_Null):
        return None
    if isinstance(v, _db.Value_Json):
        return _json.loads(v.value)
    return v.value


def _rows(r: "_db.Rows") -> List[Row]:
    return [dict(zip(r.columns, (_python(v) for v in row))) for row in r.rows]


def query(sql: str, *params: Any) -> List[Row]:
    """Rows as dicts by column name."""
    try:
        return _rows(_db.query(sql, [_value(p) for p in params]))
    except _Err as e:
        raise _failure(e)


def execute(sql: str, *params: Any) -> int:
    """Rows changed."""
    try:
        return _db.execute(sql, [_value(p) for p in params])
    except _Err as e:
        raise _failure(e)


class Transaction:
    """Statements that commit together. Use as `with db.transaction() as tx:`;
    it commits when the block ends and rolls back if it raises (or if the
    guest traps). A statement the database refuses leaves it usable."""

    def __init__(self, tx: "_db.Transaction"):
        self._tx: Optional[_db.Transaction] = tx

    def query(self, sql: str, *params: Any) -> List[Row]:
        try:
            return _rows(self._tx.query(sql, [_value(p) for p in params]))
        except _Err as e:
            raise _failure(e)

    def execute(self, sql: str, *params: Any) -> int:
        try:
            return self._tx.execute(sql, [_value(p) for p in params])
        except _Err as e:
            raise _failure(e)

    def commit(self) -> None:
        """Commits now (the `with` block does this for you)."""
        tx, self._tx = self._tx, None
        try:
            _db.Transaction.commit(tx)
        except _Err as e:
            raise _failure(e)

    def rollback(self) -> None:
        """Rolls back now."""
        tx, self._tx = self._tx, None
        try:
            _db.Transaction.rollback(tx)
        except _Err as e:
            raise _failure(e)

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, kind, value, traceback) -> bool:
        if self._tx is None:
            return False
        if kind is None:
            self.commit()
        else:
            try:
                self.rollback()
            except Exception:
                pass  # the block's own exception is the one to report
        return False


def transaction() -> Transaction:
    """Begins a transaction."""
    try:
        return Transaction(_db.begin())
    except _Err as e:
        raise _failure(e)
