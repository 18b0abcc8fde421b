"""The platform's processes, declared once: what ``./lab run`` starts, what compose and Kubernetes deploy.

Pure data, like ``device_adapters/registry.py`` is for families: a process is named by the ``tlab``
sub-command that runs it and by the module that implements it *as a string*, so this module imports
nothing above the core. It sits in ``core`` because everything that derives from it must be able to
import it without an upward import: the supervisor (``tlab/supervisor.py``), the deployment generator
(``deploy/render.py``: ``deploy/docker-compose.yml`` and ``deploy/k8s/``), and later the API and the
workers themselves (ingest and services are independent of each other, so neither could hold it).

``tests/unit/test_deployments.py`` fails when a generated file no longer matches this list
(``tlab deploy render`` rewrites them), and when a ``tlab`` sub-command named here does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from device_adapters.capabilities import Capability


class Scaling(StrEnum):
    """How more than one copy of a process shares the work (docs/deploy.md)."""

    SHARED_SUBSCRIPTION = "shared-subscription"
    """MQTT v5 ``$share/<group>/...``: the broker splits messages; each member needs a stable client id."""
    SKIP_LOCKED = "skip-locked"
    """Rows claimed ``FOR UPDATE SKIP LOCKED``: each copy takes work no other holds."""
    ADVISORY_LOCKS = "advisory-locks"
    """Work items (a subject, an image, a webhook) taken under a PostgreSQL advisory lock each."""
    LEADER = "leader"
    """One copy works at a time under an advisory lock; the others stand by (availability, not throughput)."""
    STATELESS = "stateless"
    """HTTP behind a load balancer: any copy answers any request."""
    SINGLE = "single"
    """Exactly one copy: a second would duplicate effects."""


class Media(StrEnum):
    """What a process does with the media store (a ReadWriteMany volume, or S3 later)."""

    NONE = "none"
    READ = "read"
    WRITE = "write"


PG_PASSWORD = "TLAB_PG_PASSWORD"
PG_OWNER_PASSWORD = "TLAB_PG_OWNER_PASSWORD"
MQTT_PASSWORD = "TLAB_MQTT_PASSWORD"


@dataclass(frozen=True, slots=True)
class Resources:
    """Kubernetes requests (scheduling) and memory limit; CPU is not limited (throttling a worker only
    grows its queue)."""

    cpu: str
    memory: str
    memory_limit: str


@dataclass(frozen=True, slots=True)
class Process:
    """One long-running process of the platform.

    ``metrics_port_setting`` names the Settings field holding the port of its ``/metrics`` and of its
    health (``health_path``); ``metrics_port`` is that field's default. ``consumes``: the capabilities
    of the families it serves (device_adapters/capabilities): it selects on them, never on family names."""

    name: str
    command: tuple[str, ...]
    module: str
    summary: str
    scaling: Scaling
    scaling_note: str
    replicas: int
    metrics_port_setting: str
    metrics_port: int
    health_path: str
    media: Media
    secrets: tuple[str, ...]
    consumes: tuple[Capability, ...]
    resources: Resources
    stop_grace_s: int = 30
    stop_first: bool = True
    """Stopped before the processes that are not (the API, the credentials' owner), so what a worker took
    is flushed while they still answer."""
    stable_identity: bool = False
    """Each copy needs a stable name (ingest's MQTT client id: its persistent session): a StatefulSet."""
    uses_broker: bool = False
    """Connects to the broker (needs its address)."""
    broker_auth_writer: bool = False
    """Writes the broker's password files and ACLs: runs beside a Mosquitto broker, sharing its files."""
    metrics_host_setting: str = "metrics_host"
    """The Settings field of the address ``/metrics`` and the health listen on (0.0.0.0 in a container)."""


@dataclass(frozen=True, slots=True)
class Infrastructure:
    """A part the platform runs on but does not implement (the local stack starts it: ``deploy/local_stack.py``)."""

    name: str
    engine: str
    summary: str
    scaling_note: str


_SMALL = Resources("100m", "128Mi", "256Mi")

PROCESSES: tuple[Process, ...] = (
    Process(
        name="broker-credentials",
        command=("broker-credentials",),
        module="core.broker_credentials",
        summary="the one writer of the broker's password files and ACLs, from the device registry",
        scaling=Scaling.LEADER,
        scaling_note="holds a session advisory lock while it runs: a second copy waits for the lock",
        replicas=1,
        metrics_port_setting="broker_credentials_metrics_port",
        metrics_port=9114,
        health_path="/healthz",
        media=Media.NONE,
        secrets=(PG_PASSWORD, MQTT_PASSWORD),
        consumes=(),
        resources=Resources("50m", "64Mi", "192Mi"),
        stop_first=False,
        uses_broker=True,
        broker_auth_writer=True,
    ),
    Process(
        name="ingest",
        command=("ingest",),
        module="ingest.worker",
        summary="MQTT -> TimescaleDB: decode, store, acknowledge after commit",
        scaling=Scaling.SHARED_SUBSCRIPTION,
        scaling_note="`$share/<group>/...` (`TLAB_INGEST_SHARE_GROUP`); a stable client id per copy; retire a copy "
        "(`tlab ingest --retire`) before removing it for good",
        replicas=2,
        metrics_port_setting="ingest_metrics_port",
        metrics_port=9108,
        health_path="/healthz",
        media=Media.WRITE,
        secrets=(PG_PASSWORD, MQTT_PASSWORD),
        consumes=(),  # every family: it decodes what each adapter declares
        resources=Resources("500m", "128Mi", "256Mi"),
        stable_identity=True,
        uses_broker=True,
        metrics_host_setting="ingest_metrics_host",
    ),
    Process(
        name="alerts",
        command=("alerts",),
        module="services.alerts.evaluator",
        summary="the alert evaluator: readings and domain events turned into alerts",
        scaling=Scaling.ADVISORY_LOCKS,
        scaling_note="each (rule, subject) is evaluated under its advisory lock: copies take turns on a subject",
        replicas=2,
        metrics_port_setting="alerts_metrics_port",
        metrics_port=9109,
        health_path="/healthz",
        media=Media.NONE,
        secrets=(PG_PASSWORD,),
        consumes=(Capability.READINGS,),
        resources=Resources("250m", "128Mi", "384Mi"),
    ),
    Process(
        name="deliveries",
        command=("deliveries",),
        module="services.alerts.webhooks",
        summary="alert events to webhooks (signed, retried) and to MQTT for on-site displays",
        scaling=Scaling.SINGLE,
        scaling_note="webhooks are shared by a per-webhook advisory lock, but the MQTT channel has none: a "
        "second copy would publish every alert event twice",
        replicas=1,
        metrics_port_setting="deliveries_metrics_port",
        metrics_port=9110,
        health_path="/healthz",
        media=Media.NONE,
        secrets=(PG_PASSWORD, MQTT_PASSWORD),
        consumes=(),
        resources=_SMALL,
        uses_broker=True,
    ),
    Process(
        name="vision",
        command=("vision",),
        module="services.vision.worker",
        summary="pipe frames analysed into EN 13508-2 observations (and their thumbnails)",
        scaling=Scaling.SKIP_LOCKED,
        scaling_note="frames claimed FOR UPDATE SKIP LOCKED; a mission regrouped under its advisory lock",
        replicas=2,
        metrics_port_setting="vision_metrics_port",
        metrics_port=9111,
        health_path="/healthz",
        media=Media.WRITE,
        secrets=(PG_PASSWORD,),
        consumes=(Capability.PIPE_INSPECTION,),
        resources=Resources("1", "256Mi", "768Mi"),
    ),
    Process(
        name="incidents",
        command=("incidents",),
        module="services.incidents.worker",
        summary="dumping incidents kept in step with the camera events",
        scaling=Scaling.LEADER,
        scaling_note="each cycle recomputes the recent window under an advisory lock: one copy writes, "
        "another skips the cycle",
        replicas=1,
        metrics_port_setting="incidents_metrics_port",
        metrics_port=9112,
        health_path="/healthz",
        media=Media.NONE,
        secrets=(PG_PASSWORD,),
        consumes=(Capability.CAMERA_DETECTIONS,),
        resources=_SMALL,
    ),
    Process(
        name="evidence",
        command=("evidence",),
        module="services.evidence.worker",
        summary="privacy copies of personal images, the retention purge, the broker's retained clears",
        scaling=Scaling.ADVISORY_LOCKS,
        scaling_note="each original copied under its advisory lock; the retention purge under one lock: "
        "however many copies run, one purges, and a purge runs while any copy does",
        replicas=2,
        metrics_port_setting="evidence_metrics_port",
        metrics_port=9113,
        health_path="/healthz",
        media=Media.WRITE,
        secrets=(PG_PASSWORD, MQTT_PASSWORD),
        consumes=(Capability.CAMERA_DETECTIONS, Capability.PERSONAL_IMAGES),
        resources=Resources("500m", "256Mi", "768Mi"),
        uses_broker=True,
    ),
    Process(
        name="api",
        command=("api",),
        module="services.api.main",
        summary="the HTTP API and console",
        scaling=Scaling.STATELESS,
        scaling_note="any copy answers any request; alert streams are capped per process",
        replicas=2,
        metrics_port_setting="api_port",
        metrics_port=8080,
        health_path="/health",
        media=Media.READ,
        secrets=(PG_PASSWORD,),
        consumes=tuple(Capability),
        resources=Resources("250m", "128Mi", "384Mi"),
        stop_first=False,
        metrics_host_setting="api_host",
    ),
)
"""In start order: the credentials' owner before anything logs in to the broker, the API last."""


@dataclass(frozen=True, slots=True)
class ScheduledJob:
    """A command run on a schedule where the deployment has a scheduler (a Kubernetes CronJob); where it has
    none (compose, ``./lab run``), the worker named in ``backstop_for`` runs the same work on its interval."""

    name: str
    command: tuple[str, ...]
    schedule: str  # cron syntax, the cluster's time zone
    summary: str
    backstop_for: str
    media: Media
    secrets: tuple[str, ...]


SCHEDULED: tuple[ScheduledJob, ...] = (
    ScheduledJob(
        name="retention-purge",
        command=("retention", "purge", "--by", "retention CronJob"),
        schedule="23 * * * *",
        summary="the camera-data retention purge (L.252-3), hourly, even when every evidence worker is down or "
        "crash-looping on a bad image; it takes the workers' purge lock, so it skips while one purges",
        backstop_for="evidence",
        media=Media.WRITE,
        secrets=(PG_PASSWORD, MQTT_PASSWORD),  # the broker: the retained snapshots of what went are cleared
    ),
)

MIGRATE: tuple[str, ...] = ("migrate",)
"""The one-shot schema migration (owner role) every process waits for: a Job, a compose one-shot service."""
MIGRATE_SECRETS: tuple[str, ...] = (PG_OWNER_PASSWORD, PG_PASSWORD)

INFRASTRUCTURE: tuple[Infrastructure, ...] = (
    Infrastructure(
        name="broker",
        engine="mosquitto",
        summary="MQTT v5 broker: devices and the platform's accounts on separate listeners",
        scaling_note="single (Mosquitto has no clustering): a city moves to EMQX, HiveMQ or VerneMQ (docs/deploy.md)",
    ),
    Infrastructure(
        name="database",
        engine="timescaledb",
        summary="PostgreSQL with TimescaleDB: every record, the registry, the work queues",
        scaling_note="one primary, read replicas (an operator or a managed service)",
    ),
)


def process(name: str) -> Process:
    """The declared process called ``name``."""
    for declared in PROCESSES:
        if declared.name == name:
            return declared
    raise KeyError(name)
