"""The reviewer's shortlist (issue 21, item 4): a frame's defect score, and the ranking with its budget and spacing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.vision.detections import Detection
from services.vision.shortlist import ScoredFrame, frame_codes, frame_score, rank

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def det(code: str, confidence: float, quantification: float | None = None, characterisation: str = "") -> Detection:
    return Detection(code, 1, 2, quantification, confidence, characterisation)


def frame(chainage: float, score: float) -> ScoredFrame:
    return ScoredFrame(T0 + timedelta(seconds=2 * chainage), chainage, score, ("BAB",) if score else (), "sha")


def test_a_frame_scores_confidence_times_grade_and_leaves_the_stretch_s_conditions_out() -> None:
    assert frame_score([]) == 0 and frame_codes([]) == ()
    assert frame_codes([det("BDD", 0.9, 40), det("BBC", 0.2, 3.0), det("BAB", 0.4), det("BBC", 0.3, 4.0)]) == (
        "BAB", "BBC")  # fmt: skip
    assert frame_score([det("BDD", 0.9, 40), det("BDG", 1.0)]) == 0  # water and loss of vision: no place to look
    # a complex crack (grade 4) at 0.5 and deposits of 12 % (grade 4) at 0.25: 2 + 1
    assert frame_score([det("BAB", 0.5, None, "C"), det("BBC", 0.25, 12.0)]) == pytest.approx(3.0)
    # a severe finding outranks several faint ones of a lower grade
    assert frame_score([det("BBE", 0.9, 30.0)]) > frame_score([det("BAB", 0.3, 0.5)] * 3)


def test_the_shortlist_takes_the_best_within_its_share_one_per_place() -> None:
    frames = [frame(0.5 * i, 0.0) for i in range(40)]  # 20 m of clean pipe
    frames[10] = frame(5.0, 4.0)  # a defect seen from 5.0 m, 5.5 m and 6.0 m
    frames[11] = frame(5.5, 4.5)
    frames[12] = frame(6.0, 3.9)
    frames[30] = frame(15.0, 1.0)  # a fainter one further on
    listed = rank(frames, share=0.1)  # 4 frames at most
    assert [f.chainage_m for f in listed] == [5.5, 15.0]  # 5.0 and 6.0 are the same place; zeros never listed
    assert [f.chainage_m for f in rank(frames, share=0.1, spacing_m=0)] == [5.5, 5.0, 6.0, 15.0]
    assert [f.chainage_m for f in rank(frames, share=0.05)] == [5.5, 15.0]  # 2 frames of 40
    assert [f.chainage_m for f in rank(frames, share=0.01)] == [5.5]  # at least one
    # given only the scored frames of a mission of 400, the share counts the mission's frames
    scored = [f for f in frames if f.score]
    assert [f.chainage_m for f in rank(scored, total=400, share=0.05)] == [5.5, 15.0]
    assert [f.chainage_m for f in rank(scored, total=20, share=0.05)] == [5.5]


def test_ties_go_along_the_pipe_and_nothing_scored_gives_nothing() -> None:
    tied = [frame(9.0, 2.0), frame(3.0, 2.0), frame(6.0, 2.0)]
    assert [f.chainage_m for f in rank(tied, share=1.0)] == [3.0, 6.0, 9.0]
    assert rank([frame(1.0, 0.0)] * 5) == [] and rank([]) == []
    for share in (0, -0.1, 1.5):
        with pytest.raises(ValueError):
            rank(tied, share=share)
