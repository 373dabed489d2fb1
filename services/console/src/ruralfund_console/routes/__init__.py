"""The console's pages, one module per area; ``ROUTERS`` is what the app includes."""

from __future__ import annotations

from . import (
    audit,
    enterprise,
    finance,
    home,
    oidc,
    signin,
    staff_claims,
    staff_objections,
    staff_payments,
    staff_registry,
)

__all__ = ["ROUTERS"]

ROUTERS = [signin.router, oidc.router, home.router, staff_claims.router, staff_registry.router,
           staff_objections.router, enterprise.router, staff_payments.router, finance.router,
           audit.router]
