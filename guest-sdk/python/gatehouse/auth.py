"""Who is calling, as the platform's gate established it: `current()`."""

import json as _json
from typing import Any, Dict, List, Optional

from wit_world.imports import auth as _auth

__all__ = ["Principal", "current", "has_scope", "is_authenticated"]


class Principal:
    """The caller: `kind` is `"api-key"`, `"session"` or `"anonymous"`."""

    def __init__(self, c: "_auth.Context"):
        self.kind: str = {"API_KEY": "api-key", "SESSION": "session"}.get(c.kind.name, "anonymous")
        self.tenant: str = c.tenant
        self.user_id: Optional[str] = c.user_id
        self.key_id: Optional[str] = c.key_id
        self.scopes: List[str] = list(c.scopes)
        self.claims: Dict[str, Any] = _json.loads(c.claims_json) if c.claims_json else {}

    def has_scope(self, scope: str) -> bool:
        """Whether the caller holds `scope`."""
        return scope in self.scopes

    def is_authenticated(self) -> bool:
        """Whether anyone authenticated."""
        return self.kind != "anonymous"


def current() -> Principal:
    """The current request's caller."""
    return Principal(_auth.current())


def has_scope(scope: str) -> bool:
    """Whether the current caller holds `scope`."""
    return current().has_scope(scope)


def is_authenticated() -> bool:
    """Whether the current caller authenticated."""
    return current().is_authenticated()
