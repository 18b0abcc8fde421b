"""How well the reviewer's shortlist (services/vision/shortlist.py) would rank real frames: pure arithmetic.

The real set holds single frames from many cameras, not missions, so a mission is modelled: a share
``prevalence`` of its frames show a defect, drawn like the set's frames with a labelled defect, the others like
its frames without one. Listing the best ``share`` of the mission's frames by score (ties broken at random)
then finds a defect frame with the probability ``recall_at`` computes from the two score distributions: the
threshold where ``prevalence * TPR + (1 - prevalence) * FPR = share``, interpolated inside a block of tied
scores. A frame the vision did not judge has no score and is never listed. The area under the curve
(``auc``: the chance a defect frame outranks a frame without one) is given too, over the whole set and within
each source that has both kinds: a mission's frames come from one camera, and across sources the
cameras differ more than the defects do.
"""

from __future__ import annotations

from collections.abc import Sequence

NEVER = -1.0  # a frame not judged: below every score


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return round(wins / (len(positives) * len(negatives)), 3)


def recall_at(positives: Sequence[float], negatives: Sequence[float], share: float, prevalence: float) -> float | None:
    """The expected share of defect frames in a shortlist of ``share`` of a mission's frames."""
    if not positives or not negatives:
        return None
    tpr = fpr = 0.0
    for threshold in sorted(set(positives) | set(negatives), reverse=True):
        next_tpr = sum(p >= threshold for p in positives) / len(positives)
        next_fpr = sum(n >= threshold for n in negatives) / len(negatives)
        listed, next_listed = (prevalence * t + (1 - prevalence) * f for t, f in ((tpr, fpr), (next_tpr, next_fpr)))
        if next_listed >= share:  # the shortlist ends inside this block of tied scores
            return round(tpr + (share - listed) / (next_listed - listed) * (next_tpr - tpr), 3)
        tpr, fpr = next_tpr, next_fpr
    return round(tpr, 3)  # every frame fits in the shortlist
