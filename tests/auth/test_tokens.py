"""API tokens: made, recognised, refused once revoked, never stored in clear."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from abaco_auth.token import TokenAuth
from abaco_harness.fakes import MemoryStore

from abaco_core.access import ADMIN_ROLE, PRIVILEGED_ROLE, USER_ROLE
from abaco_core.errors import AuthenticationFailed, InvalidRequest, ObjectNotFound
from abaco_core.records import AuthRequest
from abaco_core.settings import Settings
from abaco_core.tokens import KIND, TENANT, create_token, digest, list_tokens, revoke_token, verify_token

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


def bearer(token: str) -> AuthRequest:
    return AuthRequest("GET", "/actors", {"authorization": f"Bearer {token}"})


def test_a_token_is_random_and_stored_only_as_its_digest(store):
    token, record = create_token(store, user="alice", role="basic", tenant="LAB", now=WHEN)
    other, _ = create_token(store, user="alice", role="basic", tenant="LAB", now=WHEN)
    assert token != other and token.startswith(f"abaco_{record['id']}_")
    assert len(token) == len("abaco_") + 12 + 1 + 43  # the secret: 256 random bits, base64url
    stored = store.list_objects(TENANT, KIND)
    assert [key for key, _doc in stored] == [digest(token), digest(other)]
    assert token not in json.dumps(stored) and token.split("_", 2)[2] not in json.dumps(stored)
    assert record == {
        "id": record["id"],
        "user": "alice",
        "tenant": "LAB",
        "role": "basic",
        "description": "",
        "created": "2026-01-02T03:04:05.000Z",
        "revoked": None,
    }


def test_the_method_names_the_caller_with_the_roles_of_the_token(store):
    auth = TokenAuth(Settings(user_role="Internal/everyone"), store)
    for role, roles in (
        ("admin", (ADMIN_ROLE,)),
        ("privileged", (PRIVILEGED_ROLE,)),
        ("basic", ("Internal/everyone",)),
    ):
        token, record = create_token(store, user="bob", role=role, tenant="LAB")
        who = auth.authenticate(bearer(token))
        assert (who.tenant, who.username, who.roles, who.method) == ("LAB", "bob", roles, "token")
        assert who.extra["token_id"] == record["id"]
    assert TokenAuth(Settings(), store).authenticate(bearer(token)).roles == (USER_ROLE,)


def test_a_revoked_token_is_refused(store):
    token, record = create_token(store, user="alice", role="admin", tenant="LAB")
    assert verify_token(store, token)["id"] == record["id"]
    revoked = revoke_token(store, record["id"], now=WHEN)
    assert revoked["revoked"] == "2026-01-02T03:04:05.000Z"
    with pytest.raises(AuthenticationFailed, match="unknown or was revoked") as refused:
        TokenAuth(Settings(), store).authenticate(bearer(token))
    assert refused.value.status == 401
    # revoking again keeps the first time; the record stays listed
    assert revoke_token(store, record["id"])["revoked"] == "2026-01-02T03:04:05.000Z"
    assert [r["id"] for r in list_tokens(store)] == [record["id"]]


def test_an_unknown_token_of_abaco_shape_is_refused(store):
    token, _ = create_token(store, user="alice", role="basic", tenant="LAB")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(AuthenticationFailed):
        verify_token(store, tampered)
    # the right secret under another id is not that token either
    token_id = token.split("_")[1]
    other_id = "0" * 12 if token_id != "0" * 12 else "1" * 12
    with pytest.raises(AuthenticationFailed):
        verify_token(store, token.replace(token_id, other_id, 1))
    # a truncated or mangled copy is still recognisably an abaco token, and refused as such
    for mangled in (token + "x", token[:20], "abaco_", "abaco_123_abc"):
        with pytest.raises(AuthenticationFailed):
            TokenAuth(Settings(), store).authenticate(bearer(mangled))


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic YWxpY2U6eA==", "Bearer some-oauth-token", "Bearer xabaco_1_2"],
)
def test_anything_else_is_left_to_the_next_method(store, header):
    headers = {} if header is None else {"authorization": header}
    assert TokenAuth(Settings(), store).authenticate(AuthRequest("GET", "/actors", headers)) is None


def test_bad_token_requests(store):
    with pytest.raises(InvalidRequest, match="valid roles are admin, privileged, basic"):
        create_token(store, user="alice", role="root", tenant="LAB")
    with pytest.raises(InvalidRequest, match="user"):
        create_token(store, user=" ", role="basic", tenant="LAB")
    with pytest.raises(InvalidRequest, match="tenant"):
        create_token(store, user="alice", role="basic", tenant="")
    with pytest.raises(ObjectNotFound, match="no token with id 'nope'"):
        revoke_token(store, "nope")
