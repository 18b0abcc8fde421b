"""Identifiers are checked whole (issue 19, item 12): Python's ``re.match`` with a ``$`` accepts a value
with a newline after it, and such a value split the broker's files. Every validator of the repository
that checks an identifier must refuse it (pydantic's and FastAPI's patterns use Rust's regex engine,
whose ``$`` is the end of the text: they are right already)."""

from __future__ import annotations

import pytest

from device_adapters.contract import Rejection

SUFFIXES = ["\n", "\r", "\r\n", " ", "\t", "\u2028"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_device_id_in_a_topic(suffix: str) -> None:
    from device_adapters.validation import device_id_from

    assert device_id_from("garden-01") == "garden-01"
    with pytest.raises(Rejection):
        device_id_from("garden-01" + suffix)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_the_identity_a_rejected_topic_claims(suffix: str) -> None:
    from ingest.writer import claimed_identity

    assert claimed_identity("ptipot/garden-01/readings") == ("ptipot", "garden-01")
    assert claimed_identity(f"ptipot/garden-01{suffix}/readings") == ("ptipot", None)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_frigate_names_in_topics(suffix: str) -> None:
    from device_adapters.karroad.adapter import CAMERA_NAME, EVENT_ID, LABEL, _matches

    for pattern, good in ((CAMERA_NAME, "entree_nord"), (EVENT_ID, "1700000000.1-abc"), (LABEL, "person")):
        assert _matches(pattern, good)
        if not (pattern == LABEL and suffix == " "):  # Frigate's labels may hold spaces ("license plate")
            assert not _matches(pattern, good + suffix)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_presented_api_token(suffix: str) -> None:
    from services.auth.tokens import presented_token_id

    token = "tlab_12_" + "A" * 43
    assert presented_token_id(token) == 12
    assert presented_token_id(token + suffix) is None


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_bucket_width(suffix: str) -> None:
    from fastapi import HTTPException
    from fastapi.exceptions import RequestValidationError

    from services.api.schemas import parse_bucket

    assert parse_bucket("15m").total_seconds() == 900
    with pytest.raises((HTTPException, RequestValidationError)):
        parse_bucket("15m" + suffix)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_domain_event_type(suffix: str) -> None:
    from core.domain_events import EVENT_TYPE, valid_event_type

    assert EVENT_TYPE.pattern and valid_event_type("dumping_suspected")
    assert not valid_event_type("dumping_suspected" + suffix)


@pytest.mark.parametrize("suffix", [*SUFFIXES, "/", "\u0435"])
def test_a_gateway_camera_name(suffix: str) -> None:
    from core.gateways import valid_camera_name

    assert valid_camera_name("entree_nord")
    assert not valid_camera_name("entree_nord" + suffix)
