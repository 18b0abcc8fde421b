"""``tlab bench``: the benchmarks, which print figures and write them to benchmarks/results/."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, cast

import typer

from core import logs
from core.settings import REPO_ROOT, Settings
from tlab.commands import load_settings

REAL_SET = REPO_ROOT / ".state" / "real-frames"
bench_app = typer.Typer(help="Benchmarks: print figures and write them to benchmarks/results/.", no_args_is_help=True)


@bench_app.command("table-design")
def bench_table_design(
    messages: Annotated[int, typer.Option(help="Drone telemetry messages to write per design.")] = 100_000,
) -> None:
    """Narrow vs wide telemetry tables: write rate, size, query latency (starts the stack if needed)."""
    from benchmarks.table_design import main
    from deploy.local_stack import LocalStack

    settings = load_settings()
    stack = LocalStack(settings)
    stack.up()
    stack.ensure_database("tlab_bench")
    main(settings.model_copy(update={"pg_database": "tlab_bench"}).owner_database_url, messages)


@bench_app.command("lists")
def bench_lists(
    samples: Annotated[int, typer.Option(help="Requests per figure (after 2 warm-up ones).")] = 15,
    reload: Annotated[bool, typer.Option("--reload", help="Load the data again (minutes).")] = False,
    repeat: Annotated[int, typer.Option(help="Runs of each phase; the medians are reported.")] = 3,
) -> None:
    """Every list route on 10 M readings and 1 M dead letters: page 1 and a deep page, before/after issue 9."""
    from benchmarks.list_routes import main

    logs.configure("WARNING")
    main(Settings(), samples, reload, repeat)


@bench_app.command("kpis")
def bench_kpis(
    repeat: Annotated[int, typer.Option(help="Computations per figure (after a warm-up); the median is reported.")] = 5,
    reload: Annotated[bool, typer.Option("--reload", help="Load the year of data again.")] = False,
) -> None:
    """Experiments' KPIs per pilot over a month and a year of data (182,500 incidents, 2,920 missions...)."""
    from benchmarks.kpis import main

    logs.configure("WARNING")
    main(Settings(), repeat, reload)


@bench_app.command("imports")
def bench_imports(
    inspections: Annotated[int, typer.Option(help="Pipes in the contractor's file.")] = 400,
    rows: Annotated[int, typer.Option(help="Observation rows per pipe (about).")] = 30,
    repeat: Annotated[int, typer.Option(help="Imports per figure (after a warm-up); the median is reported.")] = 5,
) -> None:
    """A contractor's EN 13508-2 delivery (400 pipes, 12,000 rows) read, checked and stored, text and XML."""
    from benchmarks.imports import main

    logs.configure("WARNING")
    main(Settings(), inspections, rows, repeat)


@bench_app.command("alerts")
def bench_alerts(
    devices: Annotated[int, typer.Option(help="Garden devices, each under the 5 default rules of a garden.")] = 1000,
    messages: Annotated[int, typer.Option(help="Messages per throughput run, spread over the devices.")] = 150_000,
    repeat: Annotated[int, typer.Option(help="Throughput runs without and with the evaluator (medians).")] = 3,
    latency_seconds: Annotated[float, typer.Option(help="Length of the latency run (2 alerts a second).")] = 60.0,
    phases: Annotated[str, typer.Option(help="Phases to run: throughput,latency.")] = "throughput,latency",
) -> None:
    """Ingest's committed rate without and with the alert evaluator; reading commit -> alert seen, p99."""
    from benchmarks.alerts import main

    logs.configure("WARNING")
    main(devices, messages, repeat, latency_seconds, tuple(phases.split(",")))


@bench_app.command("vision")
def bench_vision(
    missions: Annotated[int, typer.Option(help="Rendered missions of 30 m (61 frames each), seeds 1..N.")] = 24,
    repeat: Annotated[int, typer.Option(help="Timed passes over all frames; the median is reported.")] = 3,
    real: Annotated[
        Path | None,
        typer.Option(help="Score on the labelled real frames of this set (its manifest.jsonl) instead of renders."),
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help="With --real: a trained ONNX model (and its sidecar) run as `tlab vision` runs it."),
    ] = None,
    model_mode: Annotated[str, typer.Option(help="With --model: replace or add (TLAB_VISION_MODEL_MODE).")] = "replace",
    write_trust: Annotated[
        bool,
        typer.Option(
            "--write-trust",
            help="With --real: write the analysis's trust per code from this run "
            "(services/vision/trust.toml; with --model, the trust table for its sidecar).",
        ),
    ] = False,
) -> None:
    """Frames per second per core of the whole analysis at 640x480, peak memory, precision/recall per code."""
    logs.configure("WARNING")
    if real is None and (model is not None or write_trust):
        raise typer.BadParameter("--model and --write-trust go with --real", param_hint="--real")
    if real is not None:
        from benchmarks.real_frames.manifest import ManifestError
        from benchmarks.vision_real import main as main_real
        from services.vision.analysis import Analysis, Mode
        from services.vision.trained import ModelRefused, load

        if model_mode not in ("replace", "add"):
            raise typer.BadParameter("replace or add", param_hint="--model-mode")
        try:
            trained = load(model.expanduser().resolve()) if model is not None else None
        except ModelRefused as exc:
            raise typer.BadParameter(str(exc), param_hint="--model") from exc
        try:
            result = main_real(real, None if trained is None else Analysis(trained, cast(Mode, model_mode)))
        except ManifestError as exc:
            raise typer.BadParameter(str(exc), param_hint="--real") from exc
        if write_trust:
            _write_trust(result)
        return
    from benchmarks.vision import main

    main(missions, repeat)


def _write_trust(result: dict[str, Any]) -> None:
    from benchmarks import vision_trust

    kept = vision_trust.keep(result) if "+" not in result["model"] else vision_trust.RESULTS / "vision-real.json"
    vision_trust.write(result, kept)


@bench_app.command("trust")
def bench_trust(
    results: Annotated[Path, typer.Argument(help="A run's figures: `bench vision --real`'s JSON.")],
) -> None:
    """Write the pipe vision's trust per code from a saved `bench vision --real` run (services/vision/trust.toml;
    for a trained model, the trust table of its sidecar): the file is never typed by hand."""
    from benchmarks.vision_trust import write_from
    from services.vision.trust import TrustFileError

    try:
        write_from(results)
    except TrustFileError as exc:
        raise typer.BadParameter(str(exc), param_hint="RESULTS") from exc


real_set_app = typer.Typer(help="The labelled real-frame set of `bench vision --real` (docs/vision-real-frames.md).",
                           no_args_is_help=True)  # fmt: skip
bench_app.add_typer(real_set_app, name="real-set")


@real_set_app.command("build")
def real_set_build(
    out: Annotated[Path, typer.Option(help="Where to write the images and manifest.jsonl (git-ignored).")] = REAL_SET,
    mirrors: Annotated[
        Path, typer.Option(help="Where the sources' bare mirrors are: <mirrors>/<owner>+<name>/repo.")
    ] = Path("/work/.mirror"),
) -> None:
    """Rebuild the real-frame set from local mirrors of its public sources (nothing is downloaded)."""
    from benchmarks.real_frames.build import build
    from benchmarks.real_frames.sources import MissingMirror

    logs.configure("WARNING")
    try:
        report = build(out, mirrors)
    except MissingMirror as exc:
        typer.echo(f"missing sources: {exc}", err=True)
        raise typer.Exit(2) from exc
    except FileExistsError as exc:
        raise typer.BadParameter(str(exc), param_hint="--out") from exc
    typer.echo(f"{report.frames} frames in {report.directory} ({report.identical} identical and "
               f"{report.near_duplicates} re-encoded copies skipped, {report.unreadable} unreadable)")  # fmt: skip
    for name, splits in report.counts.items():
        typer.echo(f"  {name}: " + ", ".join(f"{split} {n}" for split, n in splits.items()))


@bench_app.command("evidence")
def bench_evidence(
    images: Annotated[int, typer.Option(help="Generated images per resolution (640x480 to 4096x3072).")] = 20,
    repeat: Annotated[int, typer.Option(help="Timed passes; the median is reported.")] = 3,
) -> None:
    """What privacy costs per image: ingest's check and masks, the privacy copy, the copy's bytes."""
    from benchmarks.evidence import main

    logs.configure("WARNING")
    main(images, repeat)


@bench_app.command("ingest")
def bench_ingest(
    messages: Annotated[int, typer.Option(help="Messages of the realistic mix per phase.")] = 60_000,
    workers: Annotated[str, typer.Option(help="Worker counts to measure, comma-separated.")] = "1,2,3",
    latency_seconds: Annotated[float, typer.Option(help="Length of the fixed-rate latency run.")] = 10.0,
    latency_rate: Annotated[
        float | None, typer.Option(help="Rate of the latency run; default half the best measured rate.")
    ] = None,
    phases: Annotated[str, typer.Option(help="Phases to run: ceiling,platform,latency.")] = "ceiling,platform,latency",
    repeat: Annotated[int, typer.Option(help="Runs of each throughput phase; the median is reported.")] = 3,
) -> None:
    """MQTT client ceiling vs committed rate, latency at half load, API visibility, memory, CPU."""
    from benchmarks.ingest import main

    logs.configure("WARNING")
    main(
        messages,
        [int(k) for k in workers.split(",")],
        latency_seconds,
        latency_rate=latency_rate,
        phases=tuple(phases.split(",")),
        repeat=repeat,
    )
