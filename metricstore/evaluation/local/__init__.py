"""The `free` tier: local, offline and deterministic evaluation of AI metrics (no API key, no model download).

- ``ai_sentiment``: VADER (``vaderSentiment``, lexicon shipped in the package) over the customer's turns. The
  score is the mean VADER compound of the turns (one line per turn), in [-1, 1]; ``positive`` from
  :data:`POSITIVE_THRESHOLD`, ``negative`` from :data:`NEGATIVE_THRESHOLD` (chosen on USS, see
  ``bench/free_tier.py``).
- ``ai_classify``: TF-IDF over character n-grams (scikit-learn) between each transcript line and each label's
  name words, description and example phrases. The label with the best position-weighted mean similarity wins
  (earlier lines weigh more: the reason for a contact is usually stated first); it applies when its best single
  line reaches :data:`CLASSIFY_THRESHOLD`, else the answer is "not applicable".
- ``ai_extract``: typed fields found by patterns and well-kept parsers: dateparser (dates, relative ones against
  the conversation's time), phonenumbers (E.164), price-parser (amounts), and small heuristics for ids, names,
  numbers and text.
- ``ai_query`` needs a language model: the free tier answers it with an error.

The same input always gives the same output (``latency_ms`` aside, which is measured).
"""

from metricstore.evaluation.local.classification import (
    CLASSIFY_MODEL,
    CLASSIFY_THRESHOLD,
    POSITION_DECAY,
    LabelScore,
    classify,
    label_document,
    score_labels,
)
from metricstore.evaluation.local.evaluator import LocalEvaluator
from metricstore.evaluation.local.extraction import EXTRACT_MODEL, Extracted, extract, extract_details
from metricstore.evaluation.local.sentiments import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    SENTIMENT_MODEL,
    SENTIMENTS,
    compound,
    dialogue_score,
    sentiment,
    sentiment_confidence,
    sentiment_label,
)
from metricstore.evaluation.local.text import name_words

__all__ = [
    "CLASSIFY_MODEL",
    "CLASSIFY_THRESHOLD",
    "EXTRACT_MODEL",
    "NEGATIVE_THRESHOLD",
    "POSITION_DECAY",
    "POSITIVE_THRESHOLD",
    "SENTIMENTS",
    "SENTIMENT_MODEL",
    "Extracted",
    "LabelScore",
    "LocalEvaluator",
    "classify",
    "compound",
    "dialogue_score",
    "extract",
    "extract_details",
    "label_document",
    "name_words",
    "score_labels",
    "sentiment",
    "sentiment_confidence",
    "sentiment_label",
]
