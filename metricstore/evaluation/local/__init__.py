"""The `free` tier: local, offline and deterministic evaluation of AI metrics (no API key, no model download).

- ``ai_sentiment`` (:mod:`.sentiments`): each customer turn is scored by VADER (lexicon shipped in the package),
  less courtesy ("thanks") and acknowledgements ("ok"), with displeasure phrases ("not happy at all", "the second
  time") capping it; the dialogue score is the mean over the turns that carry an opinion, later turns and
  complaints weighing more. ``positive`` from :data:`POSITIVE_THRESHOLD`, ``negative`` from
  :data:`NEGATIVE_THRESHOLD`, set by reasoning (nothing is tuned on rated data that may not ship).
- ``ai_classify`` (:mod:`.classification`): TF-IDF over character n-grams (scikit-learn) between each transcript
  line and each label's name words (glued names split), description and example phrases. The label with the best
  position-weighted mean similarity wins; it applies when its best single line reaches
  :data:`CLASSIFY_THRESHOLD`, else the answer is "not applicable". Both knobs are chosen by leave-one-domain-out
  cross-validation on MultiDoGO (``bench/free_tier.py``).
- ``ai_extract`` (:mod:`.extraction`, :mod:`.dates`, :mod:`.patterns`): typed fields found by patterns and
  well-kept parsers: dateparser, phonenumbers, price-parser, and small heuristics for ids, names, numbers and
  text. A value counts only where it is stated (not asked about), in the role the field describes: a date field
  about a promise is read from a sentence that commits to it, "today" only beside a word of the field and never
  in small talk, a date only where it names a day (not "last month", not a span), on the side of today the
  field's event lies (a charge behind, a promise ahead), digits as an id only after a word that makes them one.
- ``ai_query`` needs a language model: the free tier answers it with an error.

Every answer carries a confidence in [0, 1] from its score's margin: sentiment, the distance to the nearest cut;
classification, the top label's relative lead (or, when none applies, how far below the threshold); extraction,
the value's ranking evidence. The same input always gives the same output (``latency_ms`` aside, which is
measured).
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
