"""The one configuration object, read from the environment (prefix ``TLAB_``).

Every field has a description: the README's configuration table is generated from this class
(``tlab config --markdown``), so the two cannot drift apart.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import stat
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import quote

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _read_secret(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


INGEST_MQTT_USER = "tlab-ingest"


def _world_traversable(path: Path) -> bool:
    return all(os.stat(p).st_mode & stat.S_IXOTH for p in [path, *path.parents])


def default_state_root() -> Path:
    """``<repo>/.state``, unless the services' own users (postgres, mosquitto) could not reach it
    (a clone under /root, say): then a folder per clone under /var/lib/territoire-lab."""
    if _world_traversable(REPO_ROOT):
        return REPO_ROOT / ".state"
    digest = hashlib.sha256(str(REPO_ROOT).encode()).hexdigest()[:10]
    return Path("/var/lib/territoire-lab") / f"{REPO_ROOT.name}-{digest}"


PORT = re.compile(r"[0-9]{1,5}")  # ASCII: str.isdigit() takes "²" (int() raises) and "٣" (Arabic-Indic: 3)
ALLOWED_HOST = re.compile(r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def webhook_allowance(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | tuple[str, int]:
    """One entry of ``TLAB_WEBHOOK_ALLOW``: a network (a CIDR, or a bare address: any port), or (host, port)
    for ``host:port`` (``[v6]:port``). The one reading of its syntax: the settings check it at start (every
    process refuses a bad list, the API included), the webhook sender builds its allowances from it. A
    ValueError names the entry."""
    refused = ValueError(f"webhook_allow: {entry!r} is neither a CIDR nor host:port (port 1-65535)")
    if "/" in entry:
        try:
            return ipaddress.ip_network(entry, strict=False)
        except ValueError as exc:
            raise ValueError(f"webhook_allow: {entry!r} is not a network ({exc})") from None
    try:
        return ipaddress.ip_network(entry)
    except ValueError:
        pass
    host, sep, port = entry.rpartition(":")
    if not sep or not PORT.fullmatch(port) or not 0 < int(port) < 65536 or not ALLOWED_HOST.fullmatch(host):
        raise refused
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise refused from None
    return host.strip("[]"), int(port)


class Settings(BaseSettings):
    """Settings shared by every process kind (stack, ingest, API, simulators)."""

    model_config = SettingsConfigDict(env_prefix="TLAB_", extra="forbid", frozen=True)

    state_dir: Path = Field(
        default_factory=lambda: default_state_root() / "run",
        description="Folder holding the project's own Mosquitto and PostgreSQL data, configs, logs and "
        "the media store: ./.state/run (git-ignored), or /var/lib/territoire-lab/<clone> when the clone "
        "is not reachable by the postgres and mosquitto users.",
    )
    mqtt_host: str = Field("127.0.0.1", description="MQTT broker host.")
    mqtt_port: int = Field(18830, description="MQTT broker port (the project's own, not 1883).")
    mqtt_service_port: int = Field(
        18840,
        ge=1,
        le=65535,
        description="Broker port of the platform's own accounts (ingest); devices cannot log in there, and the "
        "device ports force a device's client id to its own id. For a broker without separate listeners, the "
        "same as TLAB_MQTT_PORT.",
    )
    mqtt_device_mount: str = Field(
        "devices/",
        pattern=r"^([A-Za-z0-9_-]+/)?$",
        description="Mosquitto mount point of the device listeners: a device publishes `<root>/<id>/...`, "
        "the platform sees `devices/<root>/<id>/...`. It keeps devices out of the platform's shared subscription "
        "(Mosquitto's ACL file cannot refuse a subscription). Empty for a broker that enforces subscribe ACLs "
        "(EMQX, HiveMQ).",
    )
    mqtt_credentials_wait_s: float = Field(
        10.0,
        ge=0,
        le=120,
        description="How long provisioning, rotation and revocation (CLI and API) wait for the broker to have "
        "reloaded the change (confirmed by a login probe of `tlab broker-credentials`), so a device can log in "
        "as soon as it has its password; past it the API answers `broker: pending` and the CLI says so.",
    )
    mqtt_tls_port: int = Field(
        18883, ge=0, le=65535, description="Port of the broker's TLS listener (MQTT over TLS; 0 = none)."
    )
    mqtt_tls_certfile: Path | None = Field(
        None,
        description="Server certificate (PEM, full chain) for the TLS listener, e.g. from the city's PKI or "
        "Let's Encrypt. Unset: the local stack issues one from its own private CA (<state_dir>/tls/ca.crt).",
    )
    mqtt_tls_keyfile: Path | None = Field(None, description="Private key of TLAB_MQTT_TLS_CERTFILE (PEM).")
    mqtt_tls_cafile: Path | None = Field(
        None, description="CA certificate(s) clients should trust with TLAB_MQTT_TLS_CERTFILE (PEM)."
    )
    mqtt_auth_dir: Path | None = Field(
        None,
        description="Folder where provisioning writes the broker's password file and ACL, for a broker that "
        "is not the local stack's (docker-compose: a volume the broker watches). Default: the local stack's.",
    )
    mqtt_username: str | None = Field(
        None, description="MQTT user of the ingest worker; the local stack generates one."
    )
    mqtt_password: str | None = Field(None, description="MQTT password of the ingest worker.")
    pg_host: str = Field("127.0.0.1", description="PostgreSQL host.")
    pg_port: int = Field(15432, description="PostgreSQL port (the project's own, not 5432).")
    pg_user: str = Field(
        "tlab", description="PostgreSQL role the platform's processes log in as (reads and writes data, owns nothing)."
    )
    pg_password: str | None = Field(
        None, description="Password of TLAB_PG_USER; the local stack generates one (<state_dir>/postgres-tlab.secret)."
    )
    pg_owner_user: str = Field(
        "tlab_owner",
        description="PostgreSQL role that owns the schema and applies migrations (`tlab migrate`); the running "
        "processes never log in as it, so they cannot alter or drop what they do not own (the audit log).",
    )
    pg_owner_password: str | None = Field(
        None,
        description="Password of TLAB_PG_OWNER_USER; the local stack generates one "
        "(<state_dir>/postgres-owner.secret).",
    )
    pg_database: str = Field("tlab", description="PostgreSQL database name.")
    media_root: Path | None = Field(
        None, description="Root of the content-addressed media store; default <state_dir>/media."
    )
    api_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    api_port: int = Field(8080, description="Port the HTTP API listens on.")
    api_stream_max_seconds: float = Field(
        3600.0,
        gt=0,
        le=86_400,
        description="Longest life of one alert stream (`GET /v1/alerts/stream`): it then ends and the client "
        "reconnects with Last-Event-ID (an EventSource does it by itself), presenting its token again.",
    )
    api_streams_per_token: int = Field(
        5, ge=1, description="Alert streams one token may hold open at once, per API process (beyond: 429)."
    )
    api_streams_total: int = Field(
        200, ge=1, description="Alert streams one API process holds open at once, all tokens together (beyond: 429)."
    )
    console_session_hours: float = Field(
        12.0, gt=0, le=24 * 7, description="Longest life of a console sign-in (a working day by default)."
    )
    console_idle_minutes: float = Field(
        60.0, gt=0, le=24 * 60, description="A console session unused this long ends: the person signs in again."
    )
    ingest_client_id: str = Field(
        "tlab-ingest-1",
        description="Stable MQTT client id of an ingest worker (its persistent session is keyed on it).",
    )
    ingest_share_group: str | None = Field(
        None,
        description="If set, subscribe through the MQTT v5 shared subscription $share/<group>/... so "
        "several workers split the load.",
    )
    ingest_batch_size: int = Field(500, ge=1, description="Most messages written in one transaction.")
    ingest_batch_ms: int = Field(
        5,
        ge=0,
        description="Longest wait (ms) for more messages before writing a batch. Under load batches fill while "
        "the previous commit runs (group commit), so this stays small: it adds directly to latency.",
    )
    ingest_receive_maximum: int = Field(
        1000,
        ge=1,
        le=65535,
        description="MQTT v5 Receive Maximum: unacknowledged messages the broker may send this worker. "
        "Bounds the worker's memory and gives backpressure while the database is down.",
    )
    ingest_session_expiry_s: int = Field(
        7 * 24 * 3600,
        description="How long the broker keeps the worker's session (and queues its messages) while "
        "it is disconnected.",
    )
    ingest_require_provisioned: bool = Field(
        True,
        description="Dead-letter messages whose topic names a device that is not provisioned in the registry, "
        "or revoked. Turn off only behind a broker that authenticates devices against another source.",
    )
    ingest_metrics_host: str = Field("127.0.0.1", description="Address of the worker's /metrics and /healthz.")
    ingest_metrics_port: int = Field(
        9108, ge=0, le=65535, description="Port of the worker's Prometheus /metrics and /healthz (0 = off)."
    )
    ingest_stuck_after_s: float = Field(
        30.0, gt=0, description="/healthz says 'stuck' when messages wait and nothing was committed for this long."
    )
    metrics_host: str = Field(
        "127.0.0.1",
        description="Address of the other workers' /metrics and /healthz (alerts, deliveries, vision, incidents, "
        "evidence, broker credentials); 0.0.0.0 in a container.",
    )
    alerts_metrics_port: int = Field(
        9109, ge=0, le=65535, description="Port of `tlab alerts`' Prometheus /metrics and /healthz (0 = off)."
    )
    deliveries_metrics_port: int = Field(
        9110, ge=0, le=65535, description="Port of `tlab deliveries`' Prometheus /metrics and /healthz (0 = off)."
    )
    vision_metrics_port: int = Field(
        9111, ge=0, le=65535, description="Port of `tlab vision`'s Prometheus /metrics and /healthz (0 = off)."
    )
    vision_model: Path | None = Field(
        None,
        description="A trained pipe-defect detector for `tlab vision`: a YOLO-style ONNX file, its sidecar (class "
        'names -> EN 13508-2 codes, input size, version) beside it as `<name>.toml` (docs/vision.md, "Plugging in a '
        'trained model"). A model or sidecar that does not meet the contract stops the worker at start. Unset: the '
        "classical detectors alone.",
    )
    vision_model_mode: Literal["replace", "add"] = Field(
        "replace",
        description="What TLAB_VISION_MODEL does to the classical detectors: `replace` (the model alone finds the "
        "codes it maps; the classical detectors the others) or `add` (both find them: more found, more false "
        "alarms). A change analyses the frames again.",
    )
    vision_trust_bar: float = Field(
        0.7,
        gt=0,
        le=1,
        description="The precision on real footage at or above which a code's automatic pipe observations are "
        "trusted (measured by `tlab bench vision --real` on at least 20 reports: services/vision/trust.toml, or a "
        "trained model's sidecar `[trust]`). Below it, or not measured, they are suggestions: shown for review, "
        "never raising the grade-4 alert until a person confirms them (docs/vision.md).",
    )
    incidents_metrics_port: int = Field(
        9112, ge=0, le=65535, description="Port of `tlab incidents`' Prometheus /metrics and /healthz (0 = off)."
    )
    evidence_metrics_port: int = Field(
        9113, ge=0, le=65535, description="Port of `tlab evidence`'s Prometheus /metrics and /healthz (0 = off)."
    )
    broker_credentials_metrics_port: int = Field(
        9114,
        ge=0,
        le=65535,
        description="Port of `tlab broker-credentials`' Prometheus /metrics and /healthz (0 = off).",
    )
    max_payload_bytes: int = Field(
        8 * 1024 * 1024, description="Largest accepted payload; larger messages are dead-lettered."
    )
    dead_letter_keep_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Most bytes of a refused payload a dead letter keeps; a larger payload keeps this prefix with "
        "its whole size and SHA-256, and cannot be replayed.",
    )
    ingest_max_attempts: int = Field(
        3,
        ge=1,
        description="A message that failed this many times in a row without a verdict (neither stored nor "
        "dead-lettered, e.g. a bug) is dead-lettered as internal_error instead of being retried forever.",
    )
    camera_retention_days: int = Field(
        30,
        ge=1,
        description="Days camera events, snapshots, their privacy copies and the cameras' dead letters are kept "
        "(an incident under a police legal hold keeps its own). At most 30: French law (Code de la sécurité "
        "intérieure L.252-3) allows no more for these cameras; a larger value is refused at start.",
    )
    retention_interval_s: float = Field(3600.0, gt=0, description="How often `tlab evidence` runs the retention purge.")
    alert_notify_wait_s: float = Field(
        5.0,
        ge=0,
        le=600,
        description="How long a new alert is held back before its webhooks and MQTT are told (Alertmanager's "
        "group_wait): one retracted or resolved within it is never sent, nor is its resolution (the API lists it "
        "all the same). 0 sends every change at once.",
    )
    webhook_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Webhook destinations allowed although not public, comma-separated: CIDRs (10.1.2.0/24, "
        "::1/128) or host:port ([::1]:9000, 127.0.0.1:8099), for a deployment's own receiver. Anything else "
        "private, loopback, link-local, unique-local, multicast, unspecified or reserved (cloud metadata "
        "included) is refused at registration and again at connection, after DNS resolution.",
    )
    log_level: str = Field("INFO", description="Log level (DEBUG, INFO, WARNING, ERROR).")
    log_json: bool = Field(False, description="Write logs as JSON lines instead of key=value text.")

    @field_validator("webhook_allow", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """The environment gives one string: ``10.1.2.0/24,127.0.0.1:8099``."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_allow")
    @classmethod
    def _allowances(cls, value: list[str]) -> list[str]:
        """Checked at start in every process: the API answered a malformed entry with a 500 on each webhook
        registration (``tlab deliveries`` alone refused to start)."""
        entries = [entry.strip() for entry in value if entry.strip()]
        for entry in entries:
            webhook_allowance(entry)
        return entries

    @field_validator("camera_retention_days")
    @classmethod
    def _lawful_retention(cls, value: int) -> int:
        if value > 30:
            raise ValueError(
                f"{value} days is more than the law allows for these cameras: at most 30 "
                "(Code de la sécurité intérieure L.252-3); a longer need is a legal hold on an incident"
            )
        return value

    @field_validator(
        "state_dir",
        "media_root",
        "mqtt_tls_certfile",
        "mqtt_tls_keyfile",
        "mqtt_tls_cafile",
        "mqtt_auth_dir",
        "vision_model",
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """Relative paths would be read differently by PostgreSQL and Mosquitto (their own cwd)."""
        return None if value is None else value.expanduser().resolve()

    @property
    def database_url(self) -> str:
        """The running processes' connection (TLAB_PG_USER)."""
        return self._url(self.pg_user, self.pg_password or _read_secret(self.pg_secret_file))

    @property
    def owner_database_url(self) -> str:
        """The schema owner's connection, for migrations only (TLAB_PG_OWNER_USER)."""
        return self._url(self.pg_owner_user, self.pg_owner_password or _read_secret(self.pg_owner_secret_file))

    @property
    def database_url_shown(self) -> str:
        """database_url without its password, for logs and banners."""
        return f"postgresql://{self.pg_user}@{self.pg_host}:{self.pg_port}/{self.pg_database}"

    def _url(self, user: str, password: str | None) -> str:
        auth = user if password is None else f"{user}:{quote(password, safe='')}"
        return f"postgresql://{auth}@{self.pg_host}:{self.pg_port}/{self.pg_database}"

    @property
    def pg_secret_file(self) -> Path:
        """Where the local stack keeps the generated password of TLAB_PG_USER (mode 600)."""
        return self.state_dir / "postgres-tlab.secret"

    @property
    def pg_owner_secret_file(self) -> Path:
        return self.state_dir / "postgres-owner.secret"

    @property
    def media_path(self) -> Path:
        return self.media_root if self.media_root is not None else self.state_dir / "media"

    @property
    def mqtt_tls_trust(self) -> Path:
        """The CA file a client of the TLS listener trusts: the configured one, else the private CA's."""
        return self.mqtt_tls_cafile or self.state_dir / "tls" / "ca.crt"

    @property
    def ingest_secret_file(self) -> Path:
        """Where the local stack keeps the generated password of the ingest worker's MQTT account."""
        return self.state_dir / "mosquitto" / "ingest.secret"

    def mqtt_credentials(self) -> tuple[str, str] | None:
        """The ingest worker's MQTT credentials: from the environment, else from the local stack."""
        if self.mqtt_username:
            return self.mqtt_username, self.mqtt_password or ""
        if self.ingest_secret_file.exists():
            return INGEST_MQTT_USER, self.ingest_secret_file.read_text().strip()
        return None
