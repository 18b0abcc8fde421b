"""The real-frame set's tooling on generated frames (never the real images, whose licences are unclear): the
manifest reader, the scoring arithmetic, the set's builder from a bare git mirror, and `bench vision --real`'s
path from a frame's bytes to its verdict."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.real_frames import manifest, scoring
from benchmarks.real_frames.build import build
from benchmarks.real_frames.manifest import Frame, ManifestError, Source
from benchmarks.real_frames.scoring import Verdict, score, score_splits
from benchmarks.real_frames.sources import Candidate, Mirror, MissingMirror, Repository, clock_box
from benchmarks.vision_real import run, verdict_of
from device_adapters.bathy.scene import Conditions, Scene, render
from device_adapters.images import encode_jpeg

ORIGIN = Source("owner/name", "0" * 40, "a/b.jpg", "f" * 64, "normal")


def frame(
    name: str, codes: set[str], unsure: frozenset[str] | set[str] = frozenset(), split: str = "dev", label: str = "x"
) -> Frame:
    return Frame(f"images/{name}.jpg", "", Source("owner/name", "0" * 40, name, "", label), frozenset(codes),
                 frozenset(unsure), split)  # fmt: skip


def write_set(directory: Path, frames: list[Frame]) -> None:
    (directory / "images").mkdir(parents=True, exist_ok=True)
    for f in frames:
        (directory / f.file).write_bytes(encode_jpeg(np.full((64, 64, 3), 128, np.uint8)))
    manifest.write(directory, frames)


def test_a_manifest_reads_back_what_was_written(tmp_path: Path) -> None:
    frames = [
        frame("clean", set(), {"BDD"}),
        Frame("images/crack.jpg", "ab" * 32, ORIGIN, frozenset({"BAB"}), frozenset({"BAA"}), "holdout", "g1",
              (clock_box("obstacle", "BBE", (0.8, 0.4, 0.95, 0.6), 640, 480),), True, (ORIGIN,), "png -> jpeg q95",
              "a note"),
    ]  # fmt: skip
    write_set(tmp_path, frames)
    assert manifest.read(tmp_path) == frames
    line = json.loads((tmp_path / manifest.MANIFEST).read_text().splitlines()[1])
    assert line["codes"] == ["BAB"] and line["boxes"][0]["clock_from"] == 3 and line["split"] == "holdout"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"codes": ["BAJ"]}, "not supported"),
        ({"codes": ["BAB"], "unsure": ["BAB"]}, "both present and unsure"),
        ({"split": "test"}, "split"),
        ({"file": "images/gone.jpg"}, "missing"),
        ({"file": "../outside.jpg"}, "outside"),
        ({"judgeable": "yes"}, "judgeable"),
        ({"boxes": [{"label": "x", "code": None, "xyxy": [0.5, 0.5, 0.2, 0.9], "clock_from": 1, "clock_to": 2}]},
         "fractions"),
        ({"source": {"repository": "o/n"}}, "TypeError"),
    ],
)  # fmt: skip
def test_a_bad_line_is_refused_with_its_number(tmp_path: Path, change: dict[str, object], reason: str) -> None:
    write_set(tmp_path, [frame("a", set()), frame("b", {"BAB"})])
    (tmp_path.parent / "outside.jpg").write_bytes(b"x")
    path = tmp_path / manifest.MANIFEST
    lines = path.read_text().splitlines()
    lines[1] = json.dumps({**json.loads(lines[1]), **change})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match=reason) as caught:
        manifest.read(tmp_path)
    assert caught.value.line == 2


def test_a_file_listed_twice_a_broken_line_and_an_empty_set_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest"):
        manifest.read(tmp_path)
    write_set(tmp_path, [frame("a", set()), frame("a", set())])
    with pytest.raises(ManifestError, match="listed twice"):
        manifest.read(tmp_path)
    (tmp_path / manifest.MANIFEST).write_text('{"file": \n')
    with pytest.raises(ManifestError, match="JSONDecodeError"):
        manifest.read(tmp_path)
    (tmp_path / manifest.MANIFEST).write_text("\n")
    with pytest.raises(ManifestError, match="no frame"):
        manifest.read(tmp_path)


def test_per_code_figures_count_only_the_frames_whose_label_settles_the_code() -> None:
    frames = [
        frame("crack1", {"BAB"}),  # found: tp
        frame("crack2", {"BAB"}),  # not judged: fn
        frame("deposit", {"BBC"}, {"BBB"}),  # BBC found (tp), BBB found but unsure (not counted), BAB found (fp)
        frame("clean1", set(), {"BDD"}),  # BDD found, unsure: no false alarm
        frame("clean2", set()),  # BBE found: a false alarm, grade 4
        frame("joints", set(), set(manifest.SUPPORTED)),  # defects unknown: nothing scored
    ]
    verdicts = {
        "images/crack1.jpg": Verdict(frozenset({"BAB"}), worst_grade=2),
        "images/crack2.jpg": Verdict(frozenset({"BDG"}), not_judged=True, worst_grade=1, reason="dark"),
        "images/deposit.jpg": Verdict(frozenset({"BBC", "BBB", "BAB"}), worst_grade=3),
        "images/clean1.jpg": Verdict(frozenset({"BDD"}), worst_grade=1),
        "images/clean2.jpg": Verdict(frozenset({"BBE"}), worst_grade=4),
        "images/joints.jpg": Verdict(frozenset({"BBE", "BAB"}), worst_grade=4),
    }
    result = score(frames, verdicts)
    bab = result["codes"]["BAB"]
    assert (bab["tp"], bab["fp"], bab["fn"], bab["frames"]) == (1, 1, 1, 5)
    assert bab["precision"] == 0.5 and bab["recall"] == 0.5
    assert result["codes"]["BBC"] == {"tp": 1, "fp": 0, "fn": 0, "frames": 5, "precision": 1.0, "recall": 1.0}
    assert result["codes"]["BBB"]["frames"] == 4 and result["codes"]["BBB"]["precision"] is None  # never settled found
    assert result["codes"]["BDD"]["frames"] == 4  # crack1, crack2, deposit, clean2: their labels rule water out
    assert result["codes"]["BDG"]["fp"] == 1  # a loss of vision on a frame a person could read
    assert result["false_alarms"] == {"frames_without_defect": 2, "with_a_defect_reported": 1, "rate": 0.5,
                                      "by_code": {"BBE": 1}, "with_grade_4_or_more": 1}  # fmt: skip
    assert result["not_judged"] == {"frames": 1, "share": round(1 / 6, 3), "by_reason": {"dark": 1},
                                    "defect_frames": 1, "of_defect_frames": 3, "defect_share": 0.333}  # fmt: skip
    assert result["defects_unknown"] == {"frames": 1, "with_a_defect_reported": 1, "share": 1.0}
    assert result["by_class"]["owner/name: x"]["expected_found"] == 2  # crack1 and deposit


def test_figures_are_given_per_split_and_over_the_set() -> None:
    frames = [frame("a", {"BAB"}, split="dev"), frame("b", {"BAB"}, split="holdout")]
    verdicts = {"images/a.jpg": Verdict(frozenset({"BAB"})), "images/b.jpg": Verdict(frozenset())}
    result = score_splits(frames, verdicts)
    assert result["dev"]["codes"]["BAB"]["recall"] == 1.0
    assert result["holdout"]["codes"]["BAB"]["recall"] == 0.0
    assert result["all"]["codes"]["BAB"]["recall"] == 0.5


def test_a_box_s_clock_range_is_seen_from_the_frame_s_centre() -> None:
    right = clock_box("obstacle", "BBE", (0.85, 0.45, 0.95, 0.55), 640, 480)
    assert (right.clock_from, right.clock_to) == (3, 3)
    bottom = clock_box("obstacle", "BBE", (0.3, 0.8, 0.7, 1.0), 640, 480)
    assert (bottom.clock_from, bottom.clock_to) == (5, 7)
    crown = clock_box("pipe", None, (0.3, 0.0, 0.7, 0.2), 640, 480)
    assert (crown.clock_from, crown.clock_to) == (11, 1)
    whole = clock_box("pipe", None, (0.2, 0.2, 0.8, 0.8), 640, 480)
    assert (whole.clock_from, whole.clock_to) == (12, 11)


def rendered(seed: int) -> np.ndarray:
    return render(Scene(Conditions(), seed=seed), 10.0)[0]


@pytest.fixture
def mirror_root(tmp_path: Path) -> Iterator[Path]:
    """A bare mirror of a generated repository: two distinct renders, a byte copy of one, a re-encoded copy,
    a PNG and a BMP."""
    work = tmp_path / "work"
    (work / "set").mkdir(parents=True)
    first, second = rendered(1), rendered(2)
    (work / "set/a.jpg").write_bytes(encode_jpeg(first, 90))
    (work / "set/a-copy.jpg").write_bytes(encode_jpeg(first, 90))
    (work / "set/a-again.jpg").write_bytes(encode_jpeg(first, 60))
    (work / "set/b.jpg").write_bytes(encode_jpeg(second, 90))
    cv2.imwrite(str(work / "set/c.png"), rendered(3))
    cv2.imwrite(str(work / "set/d.bmp"), np.full((120, 160, 3), 40, np.uint8))

    def git(*args: str, cwd: Path = work) -> None:
        subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "frames")
    root = tmp_path / "mirrors"
    git("clone", "-q", "--bare", str(work), str(root / "owner+frames" / "repo"), cwd=tmp_path)
    yield root


def test_the_builder_dedups_converts_splits_and_rebuilds_the_same_set(tmp_path: Path, mirror_root: Path) -> None:
    commit = subprocess.run(["git", "-C", str(mirror_root / "owner+frames/repo"), "rev-parse", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip

    def candidates(mirror: Mirror, at: str) -> Iterator[Candidate]:
        for path, blob in sorted(mirror.files(at, "set").items()):
            yield Candidate(path, blob, "normal", frozenset(), frozenset({"BDD"}), path)

    repos = (Repository("owner/frames", commit, "test", candidates),)
    report = build(tmp_path / "set", mirror_root, repos)
    assert (report.frames, report.identical, report.near_duplicates) == (4, 1, 1)
    frames = manifest.read(tmp_path / "set")
    kept = {f.source.path: f for f in frames}
    assert set(kept) == {"set/a-again.jpg", "set/b.jpg", "set/c.png", "set/d.bmp"}  # sorted: a-again comes first
    assert {s.path for s in kept["set/a-again.jpg"].also_at} == {"set/a.jpg", "set/a-copy.jpg"}
    assert kept["set/c.png"].converted == "png -> jpeg q95" and kept["set/d.bmp"].converted == "bmp -> jpeg q95"
    assert all((tmp_path / "set" / f.file).read_bytes()[:3] == b"\xff\xd8\xff" for f in frames)
    assert [f.split for f in frames].count("holdout") == 1  # every third group of the class
    first = (tmp_path / "set" / manifest.MANIFEST).read_bytes()
    build(tmp_path / "set", mirror_root, repos)
    assert (tmp_path / "set" / manifest.MANIFEST).read_bytes() == first
    assert len(list((tmp_path / "set/images").iterdir())) == 4


def test_the_builder_names_the_fetch_a_missing_mirror_needs_and_keeps_a_foreign_directory(tmp_path: Path) -> None:
    repos = (Repository("owner/absent", "0" * 40, "test", lambda m, c: iter(())),)
    with pytest.raises(MissingMirror, match="fetch github:owner/absent"):
        build(tmp_path / "set", tmp_path, repos)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/notes.txt").write_text("mine")
    with pytest.raises(FileExistsError):
        build(tmp_path / "mine", tmp_path, repos)
    assert (tmp_path / "mine/notes.txt").read_text() == "mine"


def test_a_frame_goes_through_the_worker_s_analysis_twice_and_grouping(tmp_path: Path) -> None:
    """A black frame is a loss of vision (declared not judged); a clean render shows no defect."""
    black = encode_jpeg(np.zeros((480, 640, 3), np.uint8))
    blind = verdict_of(black, "m")
    assert blind.codes == {"BDG"} and blind.not_judged and blind.reason == "dark" and blind.score is None
    clean = verdict_of(encode_jpeg(rendered(4), 80), "m")
    assert not clean.not_judged and clean.reason == "" and not clean.codes & manifest.DEFECTS
    assert clean.score == 0.0  # nothing to look at: never shortlisted
    frames = [frame("black", set()), frame("clean", set(), {"BDD"}, split="holdout")]
    (tmp_path / "images").mkdir()
    (tmp_path / "images/black.jpg").write_bytes(black)
    (tmp_path / "images/clean.jpg").write_bytes(encode_jpeg(rendered(4), 80))
    manifest.write(tmp_path, frames)
    result = run(tmp_path)
    assert result["analyses"] == 4 and result["frames_per_second_per_core"] > 0
    not_judged = result["splits"]["dev"]["not_judged"]
    assert not_judged == {"frames": 1, "share": 1.0, "by_reason": {"dark": 1}, "defect_frames": 0,
                          "of_defect_frames": 0, "defect_share": None}  # fmt: skip
    assert result["splits"]["holdout"]["false_alarms"]["rate"] == 0.0
    assert result["set"]["by_class"] == {"owner/name: x": {"dev": 1, "holdout": 1}}


def test_the_shortlist_s_figures_rank_defect_frames_against_the_others_and_within_each_source() -> None:
    """scoring.shortlist_figures: frames with a labelled defect against frames without one (and against frames of
    unknown defects), over the split and within each source that has both; a frame not judged is never listed."""

    def of(name: str, codes: set[str], repo: str, label: str = "x") -> Frame:
        return Frame(f"images/{name}.jpg", "", Source(repo, "0" * 40, name, "", label), frozenset(codes),
                     frozenset(manifest.DEFECTS) if label == "unknown" else frozenset(), "dev")  # fmt: skip

    frames = [of("a1", {"BAB"}, "a/a"), of("a2", {"BBC"}, "a/a"), of("a3", set(), "a/a"),
              of("b1", {"BBE"}, "b/b"), of("b2", set(), "b/b"), of("c1", set(), "c/c", "unknown")]  # fmt: skip
    scores = {"a1": 4.0, "a2": None, "a3": 1.0, "b1": 0.5, "b2": 2.0, "c1": 3.0}
    verdicts = {f.file: Verdict(frozenset(), scores[f.source.path] is None, 0, "", scores[f.source.path])
                for f in frames}  # fmt: skip
    figures = scoring.shortlist_figures(frames, verdicts)
    assert (figures["defect_frames"], figures["frames_without_defect"], figures["frames_defects_unknown"]) == (3, 2, 1)
    # defect frames 4, never, 0.5 against 1, 2: 4 beats both, the others none
    assert figures["auc"] == {"without_defect": round(2 / 6, 3), "defects_unknown": round(1 / 3, 3)}
    assert figures["auc_within_a_source"] == {
        "a/a": {"defect_frames": 2, "frames_without_defect": 1, "auc": 0.5},
        "b/b": {"defect_frames": 1, "frames_without_defect": 1, "auc": 0.0},
    }
    assert set(figures["recall"]) == {"0.05", "0.10"}
    assert all(0 <= r["without_defect"] <= 1 for r in figures["recall"].values())
