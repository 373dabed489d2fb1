"""The console's pages, one module per area; ``ROUTERS`` is what the app includes."""

from __future__ import annotations

from . import home, signin, staff_claims

__all__ = ["ROUTERS"]

ROUTERS = [signin.router, home.router, staff_claims.router]
