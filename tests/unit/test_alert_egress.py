"""Webhook destinations (services/alerts/egress.py) and the rules the evaluator can run
(services/alerts/validation.py), without network: addresses only, never a connection."""

from __future__ import annotations

import ipaddress

import pytest

from services.alerts.egress import DestinationRefused, check_url, inside_kind, parse_allow, pinned_address
from services.alerts.packs import platform_pack
from services.alerts.rules import Absent
from services.alerts.validation import problem_of


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"), ("fe80::1", "link-local"),
        ("10.0.0.1", "private"), ("172.16.0.1", "private"), ("192.168.0.1", "private"),
        ("fd00:ec2::254", "unique-local"),
        ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
        ("100.64.0.1", "not public"), ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"),
        ("8.8.8.8", None), ("2001:4860:4860::8888", None),
    ],
)  # fmt: skip
def test_what_is_an_inside_address(address: str, kind: str | None) -> None:
    found = inside_kind(ipaddress.ip_address(address))
    assert (found is None) if kind is None else (found is not None and found.startswith(kind)), found


def test_the_allow_list_opens_only_what_it_names() -> None:
    allow = parse_allow(["127.0.0.1:8099", "10.1.2.0/24", "[::1]:9001", "hooks.lan:443", " "])
    assert pinned_address("127.0.0.1", 8099, allow) == ipaddress.ip_address("127.0.0.1")
    check_url("http://10.1.2.200:1234/", allow)
    check_url("http://[::1]:9001/x", allow)
    for url in ("http://127.0.0.1:8098/", "http://10.1.3.1/", "http://[::1]:9000/", "http://169.254.169.254/"):
        with pytest.raises(DestinationRefused, match="not a webhook destination"):
            check_url(url, allow)
    for bad in ("nonsense", "host:port", "1.2.3.4:99999", ":80"):
        with pytest.raises(ValueError):
            parse_allow([bad])


def test_a_rule_the_evaluator_cannot_run_is_named_with_why() -> None:
    base = {"name": "r", "severity": "warning", "service": "operator", "for": "PT5M"}
    cameras = Absent.model_validate({**base, "scope": {"family": "karroad"}})
    problem = problem_of(cameras)
    assert problem is not None and problem.field == "metric" and "no metric" in problem.message
    assert problem_of(Absent.model_validate({**base, "scope": {"family": "ptipot"}})) is None
    assert problem_of(Absent.model_validate({**base, "scope": {"family": "*"}})) is not None
    assert problem_of(Absent.model_validate({**base, "scope": {"family": "ptipot"}, "service": "nobody"})) is not None
    assert all(problem_of(rule) is None for rule in platform_pack())


@pytest.mark.parametrize("port", ["²", "٣", "３", "0", "65536", "+80", " 80", "8_0", "123456", ""])
def test_an_allowance_s_port_is_ascii_digits_in_range(port: str) -> None:
    """``str.isdigit`` took "²" (int() then raised a bare ValueError) and "٣" (Arabic-Indic three: port 3)."""
    with pytest.raises(ValueError, match="neither a CIDR nor host:port"):
        parse_allow([f"hooks.lan:{port}"])


def test_an_allowance_s_port_reads_as_written() -> None:
    (allowance,) = parse_allow(["hooks.lan:65535"])
    assert (allowance.host, allowance.port) == ("hooks.lan", 65535)
    assert parse_allow(["[::1]:1"])[0].port == 1


@pytest.mark.parametrize("value", ["127.0.0.1:²", "hooks.lan:٣", "10.0.0.0/33", "nonsense", "127.0.0.1:8099,:80"])
def test_a_malformed_allow_list_stops_every_process_at_start(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`tlab deliveries` refused it at start, the API answered POST /v1/webhooks with a 500: the settings
    refuse it, so every process stops at start and names the entry."""
    from pydantic import ValidationError

    from core.settings import Settings

    monkeypatch.setenv("TLAB_WEBHOOK_ALLOW", value)
    with pytest.raises(ValidationError, match="webhook_allow") as caught:
        Settings()
    assert "neither a CIDR nor host:port" in str(caught.value) or "network" in str(caught.value)
    monkeypatch.setenv("TLAB_WEBHOOK_ALLOW", "10.1.2.0/24, 127.0.0.1:8099,[::1]:9000,hooks.lan:443")
    assert Settings().webhook_allow == ["10.1.2.0/24", "127.0.0.1:8099", "[::1]:9000", "hooks.lan:443"]
