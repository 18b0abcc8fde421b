"""The ``tlab`` command: the root app, which registers every sub-command group of ``tlab/commands/``."""

from __future__ import annotations

import typer

from sim.cli import sim_app
from tlab.commands import bench, dead_letters, deploy, devices, docs, retention, run, stack, tokens, workers

app = typer.Typer(
    help="Territoire Lab: MQTT ingest, TimescaleDB and the API for the lab's pilots.",
    no_args_is_help=True,
    add_completion=False,
)

# The order of registration is the order of ``tlab --help`` (commands first, then groups).
app.command("migrate")(stack.migrate)
app.command("ingest")(workers.ingest)
app.command("broker-credentials")(workers.broker_credentials)
app.command("alerts")(workers.alerts)
app.command("deliveries")(workers.deliveries)
app.command("incidents")(workers.incidents)
app.command("evidence")(workers.evidence)
app.command("vision")(workers.vision)
app.command("api")(workers.api)
app.command("run")(run.run_command())
app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(run.test)
app.command("config")(docs.config)
app.command("policy")(docs.policy)

app.add_typer(stack.stack_app, name="stack")
app.add_typer(sim_app, name="sim")
app.add_typer(devices.devices_app, name="devices")
app.add_typer(tokens.tokens_app, name="tokens")
app.add_typer(dead_letters.dead_app, name="dead-letters")
app.add_typer(docs.families_app, name="families")
app.add_typer(retention.retention_app, name="retention")
app.add_typer(bench.bench_app, name="bench")
app.add_typer(deploy.deploy_app, name="deploy")

if __name__ == "__main__":
    app()
