"""``tlab deliveries``: each service's webhooks get its alert events, signed as the Standard Webhooks
specification says (https://www.standardwebhooks.com/):

    webhook-id: msg_<outbox id>        (the same on every retry: the receiver's idempotency key)
    webhook-timestamp: <unix seconds>  (of this attempt)
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>" with the secret's key>

One thread per webhook delivers its events in outbox order; a failure (no answer in ``timeout_s``, or
a status other than 2xx) is retried after 1, 2, 4 ... s up to ``max_backoff_s``, and given up after
``max_attempts`` (logged, then the next event). A dead or slow endpoint holds only its own thread and
cursor: the others, and the evaluator, do not wait for it. Every attempt is a row of the delivery log.
Several deliverer processes can run: a webhook is served by whichever holds its advisory lock.

An endpoint is reached only at a public address or one the deployment allows (services/alerts/egress.py,
checked after DNS resolution on the address connected to); an attempt reads the answer's status line and
headers, never its body, and ends after ``total_s`` whatever the endpoint does (a trickling answer cannot
pin the sender). A new alert is held back ``TLAB_ALERT_NOTIFY_WAIT_S`` (services/alerts/notify_wait.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from core.db import connect, scalar
from core.errors import first_line
from core.listening import listen_and_work
from core.settings import Settings
from core.worker_metrics import Heartbeat
from services.alerts.egress import PinnedTransport, parse_allow
from services.alerts.notify_wait import verdict
from services.alerts.signing import sign

logger = logging.getLogger(__name__)

LOCK_SPACE = 0x77686B  # advisory-lock namespace of webhooks ("whk")


@dataclass(frozen=True)
class Webhook:
    id: int
    service: str
    url: str
    secret: str


class WebhookSender:
    """Delivers one webhook's events until ``stop``; the caller holds the webhook's lock."""

    def __init__(
        self,
        settings: Settings,
        webhook: Webhook,
        *,
        timeout_s: float = 5.0,
        total_s: float = 10.0,
        max_attempts: int = 8,
        max_backoff_s: float = 300.0,
        poll_s: float = 0.5,
        outcomes: dict[tuple[int, str], int] | None = None,
    ) -> None:
        self.settings, self.webhook = settings, webhook
        self.outcomes = outcomes if outcomes is not None else {}  # (webhook id, outcome) -> attempts
        self.total_s = total_s
        self.allow = parse_allow(settings.webhook_allow)
        self.timeout_s, self.max_attempts, self.max_backoff_s, self.poll_s = (
            timeout_s,
            max_attempts,
            max_backoff_s,
            poll_s,
        )

    def run(self, stop: threading.Event) -> None:
        with (
            connect(self.settings.database_url) as conn,
            asyncio.Runner() as runner,
        ):
            while not stop.is_set():
                row = conn.execute(
                    "SELECT o.id, o.alert_id, o.body FROM alert_outbox o JOIN alert_webhooks w ON w.id = %s "
                    "WHERE o.id > w.delivered_through AND o.service = w.service AND w.enabled "
                    "AND o.silenced_by IS NULL ORDER BY o.id LIMIT 1",
                    (self.webhook.id,),
                ).fetchone()
                if row is None:
                    stop.wait(self.poll_s)
                    continue
                held = verdict(conn, row["alert_id"], self.settings.alert_notify_wait_s)
                if held.action == "wait":
                    stop.wait(min(self.poll_s, held.wait_s))
                    continue
                if held.action == "send":
                    self._deliver(conn, runner, row["id"], row["body"], stop)
                else:  # ended within the wait: never told, and so never told it ended
                    conn.execute(
                        "UPDATE alert_webhooks SET delivered_through = %s WHERE id = %s", (row["id"], self.webhook.id)
                    )

    async def _post(self, payload: bytes, headers: dict[str, str]) -> int:
        """One attempt: the answer's status, its body never read; at most ``total_s`` in all."""
        transport = PinnedTransport(self.allow)
        async with (
            asyncio.timeout(self.total_s),
            httpx.AsyncClient(transport=transport, timeout=self.timeout_s, follow_redirects=False) as client,
            client.stream("POST", self.webhook.url, content=payload, headers=headers) as response,
        ):
            return response.status_code

    def _deliver(
        self,
        conn: psycopg.Connection[Any],
        runner: asyncio.Runner,
        outbox_id: int,
        body: dict[str, Any],
        stop: threading.Event,
    ) -> None:
        message_id = f"msg_{outbox_id}"
        payload = json.dumps({"type": f"alert.{body.get('event')}", **body}, separators=(",", ":")).encode()
        for attempt in range(1, self.max_attempts + 1):
            timestamp = int(time.time())
            headers = {
                "content-type": "application/json",
                "webhook-id": message_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(self.webhook.secret, message_id, timestamp, payload),
            }
            started = time.monotonic()
            status, error = None, None
            try:
                status = runner.run(self._post(payload, headers))
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {first_line(exc)}"[:500]
            except TimeoutError:
                error = f"DeliveryTimeout: no complete answer within {self.total_s:g} s"
            delivered = status is not None and 200 <= status < 300
            outcome = "delivered" if delivered else "gave_up" if attempt == self.max_attempts else "retrying"
            key = (self.webhook.id, outcome)  # one sender per webhook writes this key: no lock needed
            self.outcomes[key] = self.outcomes.get(key, 0) + 1
            conn.execute(
                "INSERT INTO alert_webhook_deliveries (webhook_id, outbox_id, message_id, attempt, status, error, "
                "duration_ms, outcome) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (self.webhook.id, outbox_id, message_id, attempt, status, error,
                 round((time.monotonic() - started) * 1000, 1), outcome),
            )  # fmt: skip
            if outcome != "retrying":
                break
            if stop.wait(min(self.max_backoff_s, 2.0 ** (attempt - 1))):
                return  # stopping: the event stays undelivered, the next run retries it
        conn.execute("UPDATE alert_webhooks SET delivered_through = %s WHERE id = %s", (outbox_id, self.webhook.id))


class WebhookDeliverer:
    """Starts a sender per enabled webhook whose lock it gets; looks for new webhooks every ``refresh_s``."""

    def __init__(self, settings: Settings, *, refresh_s: float = 2.0, **sender_options: Any) -> None:
        self.settings, self.refresh_s, self.sender_options = settings, refresh_s, sender_options
        parse_allow(settings.webhook_allow)  # a mistyped allowance stops the start, not a sender later
        self.senders: dict[int, tuple[threading.Thread, threading.Event]] = {}
        self.outcomes: dict[tuple[int, str], int] = {}  # (webhook id, delivered | retrying | gave_up) -> attempts
        self.ready = threading.Event()
        self.heartbeat = Heartbeat("webhooks", self.ready)

    def _refreshed(self, conn: psycopg.Connection[Any]) -> bool:
        self._refresh(conn)
        return False  # look again in refresh_s

    def run(self, stop: threading.Event) -> None:
        listen_and_work(
            self.settings.database_url,
            (),
            self.heartbeat.wrap(self._refreshed),
            stop,
            ready=self.ready,
            poll_s=self.refresh_s,
            name="webhooks",
        )
        for _thread, own_stop in self.senders.values():
            own_stop.set()
        for thread, _own_stop in self.senders.values():
            thread.join(10)

    def _refresh(self, conn: psycopg.Connection[Any]) -> None:
        rows = conn.execute("SELECT id, service, url, secret FROM alert_webhooks WHERE enabled").fetchall()
        wanted = {r["id"]: Webhook(**r) for r in rows}
        for webhook_id in list(self.senders):
            thread, own_stop = self.senders[webhook_id]
            if webhook_id not in wanted or not thread.is_alive():
                own_stop.set()
                thread.join(10)
                conn.execute("SELECT pg_advisory_unlock(%s, %s::int)", (LOCK_SPACE, webhook_id))
                del self.senders[webhook_id]
        for webhook_id, webhook in wanted.items():
            if webhook_id in self.senders:
                continue
            if not scalar(conn, "SELECT pg_try_advisory_lock(%s, %s::int)", (LOCK_SPACE, webhook_id)):
                continue  # another deliverer serves it
            own_stop = threading.Event()
            sender = WebhookSender(self.settings, webhook, outcomes=self.outcomes, **self.sender_options)
            thread = threading.Thread(target=sender.run, args=(own_stop,), name=f"webhook-{webhook_id}", daemon=True)
            thread.start()
            self.senders[webhook_id] = (thread, own_stop)
