"""Every whole-stack rule of controller_rules, portability_rules and logs_rules holds on the
real synth of every workspace, both API kinds; the broken copies that show each rule failing
are in test_contract_controller.py, test_contract_portability.py and test_contract_logs.py."""

from __future__ import annotations

import pytest

from tests.infra.contract import controller_rules, logs_rules, portability_rules
from tests.infra.synthesized import copied_stacks

RULES = controller_rules.RULES + portability_rules.RULES + logs_rules.RULES


@pytest.mark.parametrize("kind", ["synth", "synth_http"])
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_the_synthesized_stacks_keep_the_rule(request, kind, rule):
    assert rule(copied_stacks(request.getfixturevalue(kind))) == []
