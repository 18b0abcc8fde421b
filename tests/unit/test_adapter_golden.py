"""Every golden case of every adapter (device_adapters/<family>/testdata/<case>/)."""

from __future__ import annotations

import pytest

from device_adapters.contract import Rejection
from device_adapters.golden import GoldenCase, all_cases, records_as_json
from device_adapters.registry import FAMILIES, decode

CASES = all_cases()


def test_every_family_has_valid_and_invalid_cases() -> None:
    families = {c.family for c in CASES}
    assert families == {f.name for f in FAMILIES}
    for family in families:
        kinds = {c.expected_error is None for c in CASES if c.family == family}
        assert kinds == {True, False}, f"{family} needs both valid and invalid cases"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.family}/{c.name}")
def test_golden_case(case: GoldenCase) -> None:
    expected_error = case.expected_error
    if expected_error is None:
        decoded = decode(case.message)
        assert records_as_json(decoded) == case.expected_records
        assert decoded.family == case.family
    else:
        code, words = expected_error
        with pytest.raises(Rejection) as caught:
            decode(case.message)
        assert caught.value.code == code
        assert words in caught.value.reason


@pytest.mark.parametrize("case", [c for c in CASES if c.expected_error is None], ids=lambda c: f"{c.family}/{c.name}")
def test_decoding_is_pure_and_repeatable(case: GoldenCase) -> None:
    """Replay of a dead letter relies on decode() giving the same records for the same message."""
    assert decode(case.message) == decode(case.message)


def test_every_expected_code_is_in_the_vocabulary() -> None:
    from device_adapters.contract import REJECTION_CODES

    codes = {case.expected_error[0] for case in CASES if case.expected_error}
    assert codes <= set(REJECTION_CODES), codes - set(REJECTION_CODES)
