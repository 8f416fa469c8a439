"""The restricted registration fields (spec §3.5, Q9, Q10) as a function."""

from __future__ import annotations

import pytest

from abaco_core.access import ADMIN_ROLE, PRIVILEGED_ROLE, USER_ROLE, Identity
from abaco_core.actor_fields import FieldSource
from abaco_core.errors import PermissionDenied
from abaco_core.restricted import check_restricted_fields

BASIC = Identity("t", "u", (USER_ROLE,))
UID_MESSAGE = "Not authorized -- only admins and privileged users can use container uid."


def check(who: Identity, *, use_tas_uid: bool = False, case: str = "snake", **sources) -> None:
    check_restricted_fields(FieldSource(**sources), who, case=case, use_tas_uid=use_tas_uid)


def test_use_container_uid_is_restricted_only_with_use_tas_uid():
    check(BASIC, json={"use_container_uid": True})
    with pytest.raises(PermissionDenied, match=UID_MESSAGE):
        check(BASIC, json={"use_container_uid": True}, use_tas_uid=True)
    with pytest.raises(PermissionDenied, match=UID_MESSAGE):
        check(BASIC, form={"useContainerUid": ["on"]}, use_tas_uid=True)
    check(BASIC, form={"use_container_uid": ["off"]}, use_tas_uid=True)
    for roles in ((PRIVILEGED_ROLE,), (ADMIN_ROLE,)):
        check(Identity("t", "p", roles), json={"use_container_uid": True}, use_tas_uid=True)


def test_fields_come_from_json_query_or_form_in_the_instance_spelling():
    with pytest.raises(PermissionDenied, match="set queue"):
        check(BASIC, query={"queue": ["default"]})
    with pytest.raises(PermissionDenied, match="set mem limit"):
        check(BASIC, case="camel", json={"memLimit": "1g"})
    # a camel instance reads only camel names (spec §2.5)
    check(BASIC, case="camel", json={"mem_limit": "1g"})


def test_the_first_restricted_field_in_spec_order_is_named():
    with pytest.raises(PermissionDenied, match="privileged actors"):
        check(BASIC, json={"queue": "default", "privileged": "yes"})


def test_false_and_missing_values_are_not_set():
    check(BASIC, json={"privileged": "false", "max_workers": None}, form={"privileged": ["0"]})
