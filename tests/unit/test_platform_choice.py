"""`--platforms`: one CRM, one ERP/PSA and billing, in any order; anything else is refused
with a message naming the problem."""

from __future__ import annotations

import pytest

from engine.simulators.native import PlatformChoice


def test_names_in_any_order_give_each_role_its_platform() -> None:
    choice = PlatformChoice.parse(" Stripe,certinia ,dynamics")
    assert choice.by_target == {"crm": "dynamics", "erp": "certinia", "billing": "stripe"}
    assert str(choice) == "dynamics,certinia,stripe"


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("salesforce,netsuite", "exactly one billing platform, got none"),
        ("salesforce,dynamics,netsuite,stripe", "exactly one crm platform, got 2"),
        ("salesforce,netsuite,stripe,hubspot", "unknown platform 'hubspot'"),
        ("", "exactly one crm platform, got none"),
    ],
)
def test_a_bad_choice_is_refused_naming_why(names: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PlatformChoice.parse(names)
