"""The endpoint's variables and granted secrets: `get(name)`."""

from typing import Optional

from wit_world.imports import config as _config

__all__ = ["get"]


def get(name: str) -> Optional[str]:
    """A variable or a secret granted to this endpoint; `None` if neither."""
    return _config.get(name)
