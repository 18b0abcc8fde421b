"""Secret files are private from the moment they exist (issue 19, item 13): never created world-readable
and chmod'ed afterwards, whatever the process's umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.private_files import write_private
from core.settings import Settings


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """umask 000: a file created by a plain open() is 0666 until someone chmods it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def modes_before_chmod(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Every chmod records the mode the file had before it: a secret file seen with group or other bits
    was readable by anyone on the machine for that window."""
    seen: dict[str, int] = {}
    real_chmod, real_fchmod = os.chmod, os.fchmod

    def chmod(path: object, mode: int, *args: object, **kwargs: object) -> None:
        try:
            before = os.stat(path)  # type: ignore[arg-type]
        except OSError:
            before = None
        if before is not None and stat.S_ISREG(before.st_mode):
            seen[str(path)] = stat.S_IMODE(before.st_mode)
        real_chmod(path, mode, *args, **kwargs)  # type: ignore[arg-type]

    def fchmod(fd: int, mode: int) -> None:
        seen[f"fd:{fd}"] = stat.S_IMODE(os.fstat(fd).st_mode)
        real_fchmod(fd, mode)

    monkeypatch.setattr(os, "chmod", chmod)
    monkeypatch.setattr(os, "fchmod", fchmod)
    return seen


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_helper_creates_the_file_private_and_exclusive(tmp_path, lax_umask, monkeypatch) -> None:
    created: list[tuple[int, int]] = []
    real_open = os.open

    def spy(path: object, flags: int, mode: int = 0o777, *args: object, **kwargs: object) -> int:
        created.append((flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", spy)
    target = tmp_path / "admin.token"
    write_private(target, "tlab_1_secret\n")
    assert target.read_text() == "tlab_1_secret\n" and _mode(target) == 0o600
    flags, mode = created[0]
    assert flags & os.O_CREAT and flags & os.O_EXCL and mode == 0o600
    write_private(target, b"again")  # replaces atomically, still private
    assert target.read_bytes() == b"again" and _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["admin.token"]  # no temporary left behind


def test_a_public_file_is_widened_only_after_it_is_written(tmp_path, lax_umask, modes_before_chmod) -> None:
    target = tmp_path / "ca.crt"
    write_private(target, "certificate", mode=0o644)
    assert _mode(target) == 0o644
    assert all(mode & 0o077 == 0 for mode in modes_before_chmod.values()), modes_before_chmod


def test_every_secret_the_stack_writes_is_never_readable_by_others(
    tmp_path, lax_umask, modes_before_chmod, monkeypatch
) -> None:
    """The local stack's own secrets (PostgreSQL passwords, the platform's MQTT secret, the CA and server
    keys, service accounts, the broker's password files), written by the real code into a scratch folder."""
    from core.broker_credentials import BrokerCredentials
    from deploy.local_stack import LocalStack
    from sim.credentials import DeviceKeyring

    monkeypatch.setattr(os, "geteuid", lambda: 1000)  # as a plain user: no chown to the service users
    settings = Settings(state_dir=tmp_path / "state", mqtt_tls_port=18999)
    stack = LocalStack(settings)
    settings.state_dir.mkdir()
    stack.pg_dir.mkdir()
    stack._secret(settings.pg_secret_file)
    stack._secret(settings.pg_owner_secret_file)
    BrokerCredentials(settings).add_service_account("tlab-test-account", ["topic write #"])
    stack._write_mosquitto_files()  # the platform's MQTT secret, the TLS files, the broker's files
    keyring = DeviceKeyring(settings, provisioner=None, path=settings.state_dir / "sim-devices.json")
    with keyring._locked() as known:
        known["garden-01"] = "a-secret"
    secrets_written = [
        settings.pg_secret_file,
        settings.pg_owner_secret_file,
        settings.ingest_secret_file,
        settings.state_dir / "tls" / "ca.key",
        settings.state_dir / "tls" / "server.key",
        settings.state_dir / "sim-devices.json",
        settings.state_dir / "mosquitto" / "service-accounts" / "tlab-test-account.json",
        settings.state_dir / "mosquitto" / "passwd-devices",
        settings.state_dir / "mosquitto" / "passwd-services",
    ]
    for path in secrets_written:
        assert path.exists() and _mode(path) == 0o600, (path, oct(_mode(path)))
    leaked = {p: oct(m) for p, m in modes_before_chmod.items() if m & 0o077}
    assert not leaked, f"secret files were readable by others before their chmod: {leaked}"
