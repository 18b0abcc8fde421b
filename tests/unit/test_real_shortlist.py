"""The shortlist's figures on real frames (benchmarks/real_frames/shortlist.py): checked on distributions whose
answer is known by hand."""

from __future__ import annotations

import pytest

from benchmarks.real_frames.shortlist import NEVER, auc, recall_at


def test_the_area_counts_wins_and_half_ties() -> None:
    assert auc([3.0, 2.0], [1.0, 0.0]) == 1.0
    assert auc([0.0], [1.0]) == 0.0
    assert auc([1.0, 1.0], [1.0, 1.0]) == 0.5
    assert auc([2.0, 0.0], [1.0]) == 0.5
    assert auc([], [1.0]) is None and auc([1.0], []) is None


def test_a_perfect_ranking_lists_every_defect_frame_the_share_can_hold() -> None:
    pos, neg = [5.0] * 10, [1.0] * 90
    assert recall_at(pos, neg, share=0.05, prevalence=0.05) == 1.0  # 5 % of frames show a defect, 5 % listed
    assert recall_at(pos, neg, share=0.025, prevalence=0.05) == 0.5  # room for half of them


def test_a_ranking_that_knows_nothing_finds_the_share_it_lists() -> None:
    flat = [1.0] * 50
    assert recall_at(flat, flat, share=0.05, prevalence=0.05) == pytest.approx(0.05)
    assert recall_at(flat, flat, share=0.2, prevalence=0.01) == pytest.approx(0.2)


def test_frames_not_judged_are_never_listed_before_a_scored_one() -> None:
    # half the defect frames scored high, half not judged; frames without a defect all score 1
    pos, neg = [9.0] * 5 + [NEVER] * 5, [1.0] * 100
    assert recall_at(pos, neg, share=0.05, prevalence=0.05) == 0.5  # 2.5 % listed: the five that scored
    # a wider shortlist reaches the frames without a defect before the unjudged defect frames
    assert recall_at(pos, neg, share=0.5, prevalence=0.05) == 0.5
    # and everything, unjudged last, when the shortlist holds every frame
    assert recall_at(pos, neg, share=1.0, prevalence=0.05) == 1.0
