"""Trust per code, earned on real frames (issue 21, item 3; services/vision/trust.py): the trust file holds
what the benchmark wrote and names where it was measured; a code is trusted at or above the bar on enough
reports, suggested otherwise; a trained model's trust is its sidecar's, for the very analysis it measured,
never the classical detectors'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import vision_trust
from core.settings import REPO_ROOT, Settings
from services.vision.analysis import MODEL
from services.vision.trained import ModelRefused, read_sidecar
from services.vision.trust import (
    MIN_REPORTS,
    TRUST_FILE,
    Measurement,
    Trust,
    TrustFileError,
    dumps,
    for_analysis,
    read,
    table,
)
from tests.fixtures.tiny_yolo import SIDECAR
from tests.fixtures.vision_trust import measured

COMBINED = f"{MODEL}+onnx-0123456789ab@test-1/replace"


def test_every_measurement_in_the_trust_file_is_the_benchmark_s_figures_it_names() -> None:
    entries = read()
    assert entries, "the trust file measures no analysis"
    for name, entry in entries.items():
        results = REPO_ROOT / entry.results
        assert results.is_file() and results.is_relative_to(REPO_ROOT / "docs"), f"{name}: {entry.results} not kept"
        assert (REPO_ROOT / entry.see.split("#")[0]).is_file(), f"{name}: {entry.see}"
        figures = json.loads(results.read_text())
        assert vision_trust.measurement(figures, entry.results, entry.split) == entry, f"{name}: not what it names"
        assert entry.split == "holdout" and entry.manifest_sha256 == figures["set"]["manifest_sha256"]
    assert TRUST_FILE.read_text() == dumps(entries), "the trust file is generated: `tlab bench trust RESULTS.json`"


def test_the_classical_detectors_are_measured() -> None:
    """A new classical version is unmeasured (every code suggested: nothing is lost, nothing alerts on its own)
    until the benchmark measures it: this says so until then."""
    assert MODEL in read(), (
        f"the classical analysis {MODEL} is not in services/vision/trust.toml: run `tlab bench real-set build` (if "
        "needed), then `tlab bench vision --real .state/real-frames --write-trust`"
    )


def test_a_code_is_trusted_at_the_bar_on_enough_reports_and_suggested_otherwise() -> None:
    m = measured(codes={"BAB": (70, 30), "BBC": (69, 31), "BBE": (19, 0), "BAA": (0, 0), "BBA": (20, 0)})
    trust = Trust(0.7, m)
    assert trust.of("BAB").trust == "trusted" and trust.of("BAB").precision == 0.7  # at the bar
    assert trust.of("BBC").trust == "suggested" and trust.of("BBC").precision == 0.69  # below
    assert trust.of("BBE").trust == "suggested" and trust.of("BBE").precision == 1.0  # 19 reports: too few
    assert MIN_REPORTS == 20 and trust.of("BBA").trust == "trusted"  # 20 are enough
    assert trust.of("BAA").trust == "suggested" and trust.of("BAA").precision is None  # never reported
    assert trust.of("BDG").trust == "suggested" and trust.of("BDG").basis == {"bar": 0.7, "min_reports": 20}
    basis = trust.of("BAB").basis
    assert basis["analysis"] == MODEL and basis["tp"] == 70 and basis["fp"] == 30 and basis["split"] == "holdout"
    assert basis["manifest_sha256"] == "0" * 64 and basis["date"] == "2026-12-06" and basis["bar"] == 0.7
    assert Trust(0.9, m).of("BAB").trust == "suggested"  # the bar is the deployment's
    assert Trust(0.7).of("BAB").trust == "suggested"  # no measurement at all


def test_the_bar_is_a_documented_setting() -> None:
    field = Settings.model_fields["vision_trust_bar"]
    assert field.default == 0.7 and "suggestion" in (field.description or "")
    with pytest.raises(ValueError):
        Settings(vision_trust_bar=1.5)  # type: ignore[call-arg]


def test_a_trained_model_is_trusted_by_its_own_measurement_only(tmp_path: Path) -> None:
    classical = tmp_path / "trust.toml"
    classical.write_text(dumps({MODEL: measured(MODEL, {"BAB": (90, 10)})}))
    assert for_analysis(MODEL, 0.7, path=classical).of("BAB").trust == "trusted"
    # the same crack code found in an analysis with a model: nothing inherited from the classical detectors
    assert for_analysis(COMBINED, 0.7, path=classical).of("BAB").trust == "suggested"
    own = measured(COMBINED, {"BAB": (40, 10)})
    assert for_analysis(COMBINED, 0.7, own, path=classical).of("BAB").precision == 0.8
    other_mode = measured(COMBINED.replace("/replace", "/add"), {"BAB": (40, 10)})
    assert for_analysis(COMBINED, 0.7, other_mode, path=classical).of("BAB").trust == "suggested"


def test_a_sidecar_s_trust_table_is_read_and_checked(tmp_path: Path) -> None:
    m = measured(COMBINED, {"BAB": (40, 10), "BDD": (0, 0)})
    path = tmp_path / "pipes.toml"
    path.write_text(SIDECAR + "\n" + table(m, "trust"))
    assert read_sidecar(path).trust == m
    plain = tmp_path / "plain.toml"
    plain.write_text(SIDECAR)
    assert read_sidecar(plain).trust is None  # optional: every code of the model suggested
    path.write_text(SIDECAR + "\n" + table(m, "trust").replace("precision = 0.8", "precision = 0.9"))
    with pytest.raises(ModelRefused, match=r"trust\.codes\.BAB: precision 0\.9 is not tp / \(tp \+ fp\) = 40/50"):
        read_sidecar(path)


def test_the_writer_replaces_its_analysis_s_entry_and_keeps_the_others(tmp_path: Path) -> None:
    kept = next(iter(read().values()))
    figures = json.loads((REPO_ROOT / kept.results).read_text())
    file = tmp_path / "trust.toml"
    file.write_text(dumps({"classical-older": measured("classical-older", {"BAB": (1, 1)})}))
    vision_trust.write({**figures, "model": "classical-next"}, REPO_ROOT / "docs/benchmarks-data/x.json", file)
    entries = read(file)
    assert set(entries) == {"classical-older", "classical-next"}
    assert entries["classical-next"].results == "docs/benchmarks-data/x.json"
    assert entries["classical-next"].codes == kept.codes  # the holdout's figures, as the bench wrote them
    assert read(file) == read(file) and file.read_text() == dumps(entries)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[measurement]]\nanalysis = 1\n", "measurement 1: analysis"),
        ("other = 1\n", "unknown keys other"),
        ("[[measurement]\n", "trust file"),
    ],
)
def test_a_broken_trust_file_is_refused_with_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "trust.toml"
    path.write_text(text)
    with pytest.raises(TrustFileError, match=message):
        read(path)


def test_an_analysis_measured_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "trust.toml"
    one = table(measured("a", {}), "measurement", array=True)
    path.write_text(one + "\n" + one)
    with pytest.raises(TrustFileError, match="'a' is measured twice"):
        read(path)


def test_figures_that_are_not_a_benchmark_s_are_refused() -> None:
    with pytest.raises(TrustFileError, match="not the figures of `tlab bench vision --real`"):
        vision_trust.measurement({"model": MODEL}, "x.json")
    assert isinstance(measured(), Measurement)


def test_the_worker_with_a_trained_model_trusts_what_its_sidecar_measured(tmp_path: Path) -> None:
    from services.vision.analysis import Analysis
    from services.vision.trained import load
    from services.vision.worker import VisionWorker
    from tests.fixtures.tiny_yolo import frame_row, model_bytes, write_model

    path = write_model(tmp_path, model_bytes([frame_row((200.0, 200.0), 40, (0.9, 0.0, 0.0))]))
    settings = Settings(vision_model=path, media_root=tmp_path / "media", vision_metrics_port=0)  # type: ignore[call-arg]
    name = Analysis(load(path)).model
    assert VisionWorker(settings).trust == Trust(0.7)  # no [trust] table: nothing trusted, nothing inherited
    path.with_suffix(".toml").write_text(SIDECAR + "\n" + table(measured(name, {"BAB": (45, 5)}), "trust"))
    trust = VisionWorker(settings.model_copy(update={"vision_trust_bar": 0.8})).trust
    assert trust.of("BAB").trust == "trusted" and trust.of("BBA").trust == "suggested" and trust.bar == 0.8
    assert trust.of("BDD").trust == "suggested"  # the classical water level in this analysis: measured with it or not
