"""A *test-only* authentication method, ``test-header``: the caller is named by request
headers, so the permission tests can act as any user, role and tenant.

It is an ordinary plugin (``abaco_auth_methods``), registered only by the test server
(``tests/access/serve.py`` passes it to ``build_plugin_manager(extra=...)``; it is no entry
point, so no installed abaco can select it) and chosen with ``ABACO_AUTH=test-header``. The
requests therefore go through the real pipeline: the configured methods, the required-role
gate (§3.2), then a nonce (§3.6) for a request this method does not recognise, then the
authorization checks.
"""

from __future__ import annotations

from abaco_core import AuthMethodInfo, AuthRequest, Identity, Settings, hookimpl

__all__ = ["NAME", "ROLES_HEADER", "TENANT_HEADER", "USER_HEADER", "HeaderAuth", "abaco_auth_methods"]

NAME = "test-header"
USER_HEADER = "x-test-user"
ROLES_HEADER = "x-test-roles"
TENANT_HEADER = "x-test-tenant"


class HeaderAuth:
    """``X-Test-User`` is the user, ``X-Test-Roles`` (comma-separated) the roles and
    ``X-Test-Tenant`` the tenant (default ``ABACO_TENANT``). Without ``X-Test-User`` the
    request is not recognised, so a nonce may authenticate it, as in production."""

    name = NAME

    def __init__(self, settings: Settings) -> None:
        self.tenant = settings.tenant

    def authenticate(self, request: AuthRequest) -> Identity | None:
        user = (request.header(USER_HEADER) or "").strip()
        if not user:
            return None
        roles = tuple(r.strip() for r in (request.header(ROLES_HEADER) or "").split(",") if r.strip())
        tenant = (request.header(TENANT_HEADER) or "").strip() or self.tenant
        return Identity(tenant, user, roles, method=NAME)


@hookimpl
def abaco_auth_methods() -> list[AuthMethodInfo]:
    return [
        AuthMethodInfo(
            NAME, lambda settings, store: HeaderAuth(settings), "tests only: the caller from X-Test-* headers"
        )
    ]
