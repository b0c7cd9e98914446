"""Lines in the platform log, filed under the tenant, route and request id."""

from wit_world.imports import log as _log

__all__ = ["debug", "info", "warn", "error"]


def debug(message: str) -> None:
    _log.log(_log.Level.DEBUG, message)


def info(message: str) -> None:
    _log.log(_log.Level.INFO, message)


def warn(message: str) -> None:
    _log.log(_log.Level.WARN, message)


def error(message: str) -> None:
    _log.log(_log.Level.ERROR, message)
