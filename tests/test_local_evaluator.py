"""The `free` tier (metricstore.evaluation.local): sentiment, classification, extraction and the evaluator."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.free_tier import MULTIDOGO_INTENTS, customer_text, multidogo_labels
from metricstore.definitions import ClassLabel, ExtractField, MetricDefinition
from metricstore.evaluation.base import Conversation, Evaluation, Turn
from metricstore.evaluation.local import (
    CLASSIFY_MODEL,
    EXTRACT_MODEL,
    SENTIMENT_MODEL,
    LocalEvaluator,
    classify,
    extract,
    name_words,
    sentiment,
)

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "metricstore" / "demo_data" / "multidogo" / "sample_conversations.jsonl"
REFERENCE = datetime(2024, 3, 13, 10, 0, tzinfo=UTC)  # a Wednesday

LABELS: list[str | ClassLabel] = [
    ClassLabel(
        name="billing_question",
        description="The customer asks about a bill, an invoice or a charge on their account.",
        examples=["why was I charged twice", "my invoice is wrong"],
    ),
    ClassLabel(
        name="cancellation",
        description="The customer wants to cancel their subscription, plan or account.",
        examples=["please cancel my plan"],
    ),
    "technical_support",
    "deliveryStatus",
]


# --- sentiment -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Thank you so much, that was really helpful!", "positive"),
        ("Great, I love it.", "positive"),
        ("This is the worst service ever, I am furious.", "negative"),
        ("That is unacceptable and I'm very disappointed.", "negative"),
        ("I need to change the seat on my flight.", "neutral"),
        ("My booking reference is ABC123.", "neutral"),
    ],
)
def test_sentiment_of_clear_sentences(text: str, label: str) -> None:
    found, score = sentiment(text)
    assert found == label
    assert -1.0 <= score <= 1.0


def test_sentiment_weighs_turns_by_position_and_sign() -> None:
    assert sentiment("I want to change my address\nok\nthanks")[0] == "neutral"  # courtesy is not satisfaction
    late = sentiment("I want to change my address\nok\nthis is ridiculous")[1]
    early = sentiment("this is ridiculous\nok\nI want to change my address")[1]
    assert late < early < 0  # the mood at the end of the call weighs more
    assert sentiment("") == ("neutral", 0.0)


@pytest.mark.parametrize(
    "text",
    [
        "I am not happy at all with this.",
        "hi i need to change my booking\nI'm not happy at all, this took forever",
        "This is the second time I have called about this and it is still not fixed.",
    ],
)
def test_sentiment_negation_and_displeasure(text: str) -> None:
    assert sentiment(text)[0] == "negative"


def test_sentiment_politeness_in_an_angry_call_is_not_positive() -> None:
    angry = "my order never arrived\nthis is unacceptable, I am really disappointed\nthanks, bye"
    assert sentiment(angry)[0] == "negative"
    assert sentiment("Thanks. This is terrible service.")[0] == "negative"
    assert sentiment("thanks\nthank you, bye")[0] != "positive"  # courtesy alone


def test_sentiment_confidence_in_range_and_monotone_with_the_score() -> None:
    from metricstore.evaluation.local import NEGATIVE_THRESHOLD, POSITIVE_THRESHOLD, sentiment_confidence

    grid = [round(-1 + 0.01 * k, 2) for k in range(201)]
    confidences = [sentiment_confidence(s) for s in grid]
    assert all(0.0 <= c <= 1.0 for c in confidences)
    assert sentiment_confidence(POSITIVE_THRESHOLD) == 0.0 == sentiment_confidence(NEGATIVE_THRESHOLD)
    assert sentiment_confidence(1.0) == 1.0 == sentiment_confidence(-1.0)
    positive = [sentiment_confidence(s) for s in grid if s >= POSITIVE_THRESHOLD]
    negative = [sentiment_confidence(s) for s in grid if s <= NEGATIVE_THRESHOLD]
    assert positive == sorted(positive)  # more positive, more sure it is positive
    assert negative == sorted(negative, reverse=True)


# --- classification --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Hi, I was charged twice on my last invoice", "billing_question"),  # description + example
        ("Please cancel my plan, I'm moving abroad", "cancellation"),
        ("my internet keeps dropping, I need technical support", "technical_support"),  # bare snake_case name
        ("what is the delivery status of my package", "deliveryStatus"),  # bare camelCase name
    ],
)
def test_classify_picks_the_label(text: str, label: str) -> None:
    found, score = classify(text, LABELS)
    assert found == label
    assert score >= 0.3


@pytest.mark.parametrize("text", ["what's the weather like in Paris today", "hello", ""])
def test_classify_returns_none_for_unrelated_text(text: str) -> None:
    assert classify(text, LABELS)[0] is None


def test_classify_leans_on_the_opening_request() -> None:
    text = "hi\nI was charged twice on my invoice\nalso, can you cancel my plan"
    assert classify(text, LABELS)[0] == "billing_question"


def test_content_words_leave_out_function_words_but_not_negations() -> None:
    from metricstore.evaluation.local.text import content_words

    assert content_words("What is the status of my claim?") == "status claim"
    assert content_words("It is NOT working, and I cannot log in") == "not working cannot log"
    assert content_words("other") == "other"  # a text of function words only is kept whole
    assert content_words("I can't log in") == content_words("I cannot log in") == "cannot log"  # n't written out
    assert content_words("it doesn\u2019t work") == "not work"  # with any apostrophe


def test_greetings_thanks_and_offers_of_help_name_no_request() -> None:
    from metricstore.evaluation.local.classification import label_similarities
    from metricstore.evaluation.local.text import content_words

    assert content_words("Hi, good morning!") == ""
    assert content_words("Thank you for calling, how can I help you today?") == ""
    assert content_words("hi, I was charged twice") == "charged twice"
    # a greeting no longer meets a label whose example happens to say "this morning"
    labels: list[str | ClassLabel] = [
        ClassLabel(
            name="stop_order", description="Cancel a pending order.", examples=["cancel my order of this morning"]
        ),
        "report_broken_software",
    ]
    assert label_similarities(["good morning"], labels).max() == 0


def test_a_line_said_as_one_of_many_examples_meets_its_label() -> None:
    from metricstore.evaluation.local.classification import CLASSIFY_THRESHOLD, label_similarities

    billing = ClassLabel(
        name="billing",
        description="Charges, payments, refunds, invoices, fees.",
        examples=["pay my bill", "where is my refund", "why was I charged twice", "a late fee", "my invoice is wrong"],
    )
    technical = ClassLabel(
        name="technical_issue",
        description="Something does not work: errors, crashes, outages.",
        examples=["the app keeps crashing", "the site is down"],
    )
    sims = label_similarities(["where is my refund", "the site is down"], [billing, technical])
    # matched on the whole document only, the other examples diluted them to 0.36 and 0.20, under the threshold
    assert sims[0, 0] >= CLASSIFY_THRESHOLD and sims[1, 1] >= CLASSIFY_THRESHOLD
    assert sims[0, 1] == sims[1, 0] == 0


def test_an_agents_question_does_not_decide_why_the_customer_called() -> None:
    reasons = [
        ClassLabel(
            name="billing", description="Charges, payments, refunds, balances.", examples=["pay my bill", "my balance"]
        ),
        ClassLabel(
            name="account_access",
            description="Logging in, passwords, locked accounts.",
            examples=["I can't log in", "what is my account number"],
        ),
        ClassLabel(name="information", description="Questions about products.", examples=["what is the price"]),
    ]
    conv = conversation(
        ("assistant", "Thank you for calling, how can I help?"),
        ("user", "I want to know the balance I owe"),
        ("assistant", "Sure. What is your account number, please?"),
        ("user", "4471 2290"),
        ("assistant", "Thank you. What is the name on the account?"),
        ("user", "Dana Reyes"),
    )
    got = run(conv, [metric("reason", "ai_classify", "categorical", ai_labels=reasons)])["reason"]
    assert got.status == "ok" and got.value_text == "billing", got.rationale
    assert got.evidence == ["I want to know the balance I owe"]


def test_a_catch_all_label_answers_when_no_other_applies() -> None:
    from metricstore.evaluation.local.classification import is_catch_all

    assert is_catch_all("other") and is_catch_all("none_of_the_above") and is_catch_all("Misc")
    assert not is_catch_all("other_charges") and not is_catch_all("billing")
    labels = ["billing", "cancellation", "other"]
    unrelated = conversation(("user", "I have some other question about the weather"))
    got = run(
        unrelated,
        [
            metric("topic", "ai_classify", "categorical", ai_labels=labels),
            metric("topics", "ai_classify", "list", ai_labels=labels),
            metric("strict", "ai_classify", "categorical", ai_labels=["billing", "cancellation"]),
        ],
    )
    assert got["topic"].status == "ok" and got["topic"].value_text == "other"
    assert got["topic"].evidence == ["I have some other question about the weather"]
    assert got["topic"].confidence is not None and 0.0 < got["topic"].confidence <= 1.0
    assert got["topics"].value_list == ["other"]
    assert got["strict"].status == "not_applicable"  # without a catch-all, nothing applies
    billing = conversation(("user", "I was charged twice on my bill"))
    got = run(billing, [metric("topic", "ai_classify", "categorical", ai_labels=labels)])
    assert got["topic"].value_text == "billing"  # a label that applies wins over the catch-all


def test_line_weights_count_the_customers_turns_and_weigh_the_agent_less() -> None:
    from metricstore.evaluation.local.classification import AGENT_WEIGHT, line_weights

    weights = line_weights([False, True, False, True, True], decay=0.5)
    assert weights.tolist() == pytest.approx([AGENT_WEIGHT, 1.0, AGENT_WEIGHT * 0.5, 0.5, 0.25])
    assert line_weights([False, False, False], decay=0.5).tolist() == [1.0, 0.5, 0.25]  # no customer: by position


def test_name_words() -> None:
    assert name_words("order_status") == name_words("orderStatus") == name_words("order-status") == "order status"
    assert name_words("HTTPError") == "http error"
    assert name_words("getboardingpass") == "get boarding pass"  # glued names are split
    assert name_words("information") == "information"  # a long word stays whole
    # an "s" at a glued boundary goes with the noun where both read as words (frequencies alone say "changes eat")
    assert name_words("changeseatassignment") == "change seat assignment"
    assert name_words("updatesaddress") == "updates address"  # "saddress" is no word: left as split
    assert name_words("salesteam") == "sales team"  # "sale steam" is far less likely: left as split


def test_classify_confidence_in_range_and_monotone_with_the_margin() -> None:
    from metricstore.evaluation.local import LabelScore
    from metricstore.evaluation.local.classification import CLASSIFY_THRESHOLD, classify_confidence

    def ranked(top: float, second: float, peak: float = 0.6) -> list[LabelScore]:
        return [LabelScore("a", top, peak, 0), LabelScore("b", second, second, 0)]

    margins = [classify_confidence(ranked(0.5, second)) for second in (0.5, 0.4, 0.3, 0.1, 0.0)]
    assert margins == sorted(margins) and margins[0] == 0.0 and margins[-1] == 1.0
    assert all(0.0 <= m <= 1.0 for m in margins)
    below = [classify_confidence(ranked(0.2, 0.1, peak)) for peak in (0.25, 0.15, 0.05)]
    assert below == sorted(below) and all(0.0 < b <= 1.0 for b in below)  # surer it applies to none
    assert classify_confidence(ranked(0.2, 0.1, CLASSIFY_THRESHOLD)) == pytest.approx(0.5)


# --- extraction ------------------------------------------------------------------------------------------------


def fields(*specs: tuple[str, str, str]) -> list[ExtractField]:
    return [ExtractField(name=n, type=t, description=d) for n, t, d in specs]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("I want to fly on March 20th, 2024.", "date", "2024-03-20"),
        ("I want to fly next tuesday", "date", "2024-03-19"),
        ("can we do it tomorrow", "date", "2024-03-14"),
        ("it was charged 3 days ago", "date", "2024-03-10"),
        ("the payment on 4/2/2024 failed", "date", "2024-04-02"),
        ("pick me up at 5:30 pm", "time", "17:30"),
        ("next tuesday at 5 pm works", "datetime", "2024-03-19T17:00"),
        ("the flight is on the 5th of April", "datetime", "2024-04-05"),
        ("I was charged $1,234.50 yesterday", "amount", 1234.5),
        ("it cost me 45 dollars", "amount", 45.0),
        ("write to Jane.Doe@Example.com please", "email", "jane.doe@example.com"),
        ("it's jane dot doe at example dot com", "email", "jane.doe@example.com"),
        ("call me on (415) 555-2671", "phone", "+14155552671"),
        ("my number is +44 20 7946 0958", "phone", "+442079460958"),
        ("booking reference BK-48213 please", "id", "BK-48213"),
        ("my order number is 5548213", "id", "5548213"),
        ("Hi, my name is Maria Lopez and I need help", "name", "Maria Lopez"),
        ("my name ben", "name", "Ben"),
        ("I'm travelling with three bags", "number", 3.0),
        ("I need 12 tickets", "number", 12.0),
    ],
)
def test_extract_one_type(text: str, kind: str, value: Any) -> None:
    (field,) = fields(("value", kind, ""))
    assert extract(text, [field], REFERENCE) == {"value": value}


def test_digits_past_a_floats_range_are_no_number_or_amount() -> None:
    """A run of digits too long for a float (inf) is no quantity: a stored inf would make its aggregates NaN."""
    digits = ",".join(["999"] * 140)
    found = extract(
        f"I need {digits} units, that's ${digits}", fields(("n", "number", ""), ("a", "amount", "")), REFERENCE
    )
    assert found == {"n": None, "a": None}


def test_extract_returns_none_when_absent() -> None:
    found = extract(
        "hello, I just have a question",
        fields(("d", "date", ""), ("a", "amount", ""), ("e", "email", ""), ("p", "phone", ""), ("i", "id", "")),
        REFERENCE,
    )
    assert found == {"d": None, "a": None, "e": None, "p": None, "i": None}


def test_extract_several_fields_from_a_transcript() -> None:
    text = (
        "assistant: Hello, this is Anna from Acme Air, how can I help?\n"
        "user: Hi, my name is John Smith. I'd like to fly out next tuesday and come back on March 29.\n"
        "assistant: Your booking reference?\n"
        "user: It's ABC123, and you can reach me at (415) 555-2671. I want a refund of $45 because my bag was lost."
    )
    found = extract(
        text,
        fields(
            ("customer_name", "name", "the customer's name"),
            ("departure", "date", "the date the customer flies out"),
            ("return_date", "date", "the date the customer comes back"),
            ("booking_ref", "id", "the booking reference"),
            ("phone", "phone", "phone number"),
            ("refund", "amount", "the refund the customer asks for"),
            ("reason", "text", "why the customer wants a refund"),
        ),
        REFERENCE,
    )
    assert found == {
        "customer_name": "John Smith",  # not Anna, the agent
        "departure": "2024-03-19",
        "return_date": "2024-03-29",
        "booking_ref": "ABC123",
        "phone": "+14155552671",
        "refund": 45.0,
        "reason": "I want a refund of $45 because my bag was lost.",
    }


PROMISE = fields(("callback_date", "date", "The date of a promised callback or follow-up."))


def test_a_greetings_today_is_not_a_promised_date() -> None:
    text = (
        "assistant: Hello, this is Alex with Acme. What can I do for you today?\n"
        "user: my card was stolen\n"
        "assistant: I am sorry I could not sort this out today. We will follow up with you.\n"
    )
    assert extract(text, PROMISE, REFERENCE) == {"callback_date": None}
    assert extract("user: that's all for today, thanks", fields(("d", "date", "")), REFERENCE) == {"d": None}


def test_a_stated_promised_date_is_found() -> None:
    text = (
        "assistant: How can I help you today?\n"
        "user: I need a refund for the broken blender, I bought it on March 2.\n"
        "assistant: Done. I'll call you back on Friday, March 15 with an update."
    )
    assert extract(text, PROMISE, REFERENCE) == {"callback_date": "2024-03-15"}  # not the purchase date
    relative = "assistant: We will get back to you by tomorrow."
    assert extract(relative, PROMISE, REFERENCE) == {"callback_date": "2024-03-14"}
    past = "assistant: I promised you a call on March 1 and it never came, sorry."
    assert extract(past, PROMISE, REFERENCE) == {"callback_date": None}  # a promise lies ahead


CHARGE = fields(("charge_date", "date", "The date the customer was charged."))
ANY_DATE = fields(("d", "date", "A date the customer gives."))


@pytest.mark.parametrize(
    "text",
    [
        "assistant: Hi, how are you today?\nuser: I'm good, how are you doing today",
        "assistant: I'll be happy to help you today. Thanks for calling us today!",
        "assistant: Great, that's all for today. Have a nice day!",
        "user: we offer same day delivery every day, and these days nowadays it gets better day by day",
        "user: it took two days and then another week, for a week now",
    ],
)
def test_small_talk_and_durations_are_not_dates(text: str) -> None:
    assert extract(text, PROMISE + ANY_DATE, REFERENCE) == {"callback_date": None, "d": None}


def test_a_callback_promised_for_tomorrow_is_a_promised_date() -> None:
    text = "assistant: How can I help you today?\nuser: my card is blocked\nassistant: I'll call you back tomorrow."
    assert extract(text, PROMISE, REFERENCE) == {"callback_date": "2024-03-14"}


def test_a_charge_yesterday_fills_a_charge_date_not_a_callback_date() -> None:
    text = "user: I was charged twice yesterday.\nassistant: I see, sorry about that."
    assert extract(text, CHARGE + PROMISE, REFERENCE) == {"charge_date": "2024-03-12", "callback_date": None}
    ahead = "user: I'll be charged tomorrow, please stop it."
    assert extract(ahead, CHARGE, REFERENCE) == {"charge_date": None}  # a charge date lies behind
    weekday = "user: I was charged on Monday for nothing."  # the Monday gone, not the next one
    assert extract(weekday, CHARGE, REFERENCE) == {"charge_date": "2024-03-11"}


def test_a_bare_day_of_the_month_lies_on_the_fields_side_of_today() -> None:
    # said on the 13th: "the 20th" of a charge is last month's, "the 5th" of a callback next month's
    assert extract("user: the charge was on the 20th", CHARGE, REFERENCE) == {"charge_date": "2024-02-20"}
    assert extract("user: the charge was on the 3rd", CHARGE, REFERENCE) == {"charge_date": "2024-03-03"}
    callback = "assistant: I'll call you back on the 5th."
    assert extract(callback, PROMISE, REFERENCE) == {"callback_date": "2024-04-05"}
    assert extract("user: the charge was on the 31st", CHARGE, REFERENCE) == {"charge_date": None}  # no Feb 31st


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("user: I haven't had any service in two days", None),  # a span, not two days ahead
        ("user: my bill last month was wrong", None),  # a month names no day
        ("user: I want to travel next week", None),
        ("user: it happened two weeks ago", "2024-02-28"),
        ("user: my car had an accident in two weeks ago", "2024-02-28"),
        ("user: not yesterday, the day before yesterday", "2024-03-11"),
        ("user: it was charged yesterday, March 10th", "2024-03-10"),  # the calendar date restates it
        ("user: I was born June 12th 1953 and I lost my card on March 3rd", "2024-03-03"),
        ("user: my flight is on friday", "2024-03-15"),
    ],
)
def test_a_date_names_a_day_of_the_request(text: str, value: str | None) -> None:
    assert extract(text, ANY_DATE, REFERENCE) == {"d": value}


def test_a_birth_date_fills_only_a_birth_field() -> None:
    text = "user: I was born June 12th 1953."
    assert extract(text, fields(("dob", "date", "The customer's date of birth.")), REFERENCE) == {"dob": "1953-06-12"}
    assert extract(text, ANY_DATE, REFERENCE) == {"d": None}


def test_extract_a_value_asked_about_is_not_stated() -> None:
    asked = "assistant: Is your order number 5548213?\nuser: I don't know"
    assert extract(asked, fields(("order", "id", "the order number")), REFERENCE) == {"order": None}
    assert extract("user: my zip code is 10011", fields(("ref", "id", "a reference")), REFERENCE) == {"ref": None}


def test_extraction_confidence_in_range_and_monotone() -> None:
    from metricstore.evaluation.local.extraction import extraction_confidence

    scores = [0.0, 0.5, 1.0, 2.0, 3.5, 6.0]
    confidences = [extraction_confidence(s) for s in scores]
    assert confidences == sorted(confidences) and len(set(confidences)) == len(confidences)
    assert all(0.5 <= c < 1.0 for c in confidences)


def test_extract_does_not_read_a_phone_or_a_date_as_an_id() -> None:
    found = extract("call me at 415-555-2671 on 2024-03-20", fields(("ref", "id", "")), REFERENCE)
    assert found == {"ref": None}


# --- the evaluator ---------------------------------------------------------------------------------------------


def metric(key: str, mode: str, metric_type: str, **extra: Any) -> MetricDefinition:
    return MetricDefinition.model_validate(
        {"key": key, "name": key.replace("_", " "), "metric_type": metric_type, "extraction_mode": mode, **extra}
    )


def conversation(*turns: tuple[str, str]) -> Conversation:
    return Conversation(
        workspace_id="ws",
        conversation_id="c1",
        occurred_at=REFERENCE,
        transcript=tuple(Turn(role, content) for role, content in turns),
        call={},
    )


ANGRY = conversation(
    ("assistant", "Hello, thanks for calling Acme. How can I help?"),
    ("user", "I was charged twice on my invoice and this is unacceptable. I am furious!"),
    ("assistant", "I'm sorry to hear that. Can I have your account number?"),
    ("user", "It's AC-99812. I want a refund of $120.50 by next friday."),
    ("assistant", "Done. Anything else?"),
    ("user", "No. This is terrible service, I am very angry."),
)

METRICS = [
    metric("mood", "ai_sentiment", "categorical"),
    metric("mood_score", "ai_sentiment", "numerical", aggregation="avg", valid_range_min=-1, valid_range_max=1),
    metric("is_negative", "ai_sentiment", "boolean", aggregation="rate"),
    metric("mood_custom", "ai_sentiment", "categorical", ai_labels=["happy", "neutral", "frustrated"]),
    metric(
        "topic",
        "ai_classify",
        "categorical",
        ai_labels=[label.model_dump() if isinstance(label, ClassLabel) else label for label in LABELS],
    ),
    metric(
        "topics",
        "ai_classify",
        "list",
        ai_labels=[label.model_dump() if isinstance(label, ClassLabel) else label for label in LABELS],
    ),
    metric(
        "refund",
        "ai_extract",
        "numerical",
        aggregation="sum",
        ai_labels=[{"name": "refund", "type": "amount", "description": "refund amount"}],
    ),
    metric(
        "refund_small", "ai_extract", "numerical", ai_labels=[{"name": "refund", "type": "amount"}], valid_range_max=100
    ),
    metric(
        "account",
        "ai_extract",
        "text",
        ai_labels=[
            {"name": "account", "type": "id", "description": "account number"},
            {"name": "deadline", "type": "date", "description": "when the refund is due"},
        ],
    ),
    metric(
        "account_list",
        "ai_extract",
        "list",
        ai_labels=[{"name": "account", "type": "id"}, {"name": "refund", "type": "amount"}],
    ),
    metric("email", "ai_extract", "text", ai_labels=[{"name": "email", "type": "email"}]),
    metric("custom_query", "ai_query", "numerical", model_tier="fast", ai_query_prompt="Rate {{ transcript }}"),
    metric("bad_labels", "ai_sentiment", "categorical", ai_labels=["red", "green"]),
]


def run(conv: Conversation, metrics: list[MetricDefinition]) -> dict[str, Evaluation]:
    evaluations = asyncio.run(LocalEvaluator().evaluate(conv, metrics))
    assert [e.metric_key for e in evaluations] == [m.key for m in metrics]
    return {e.metric_key: e for e in evaluations}


def test_evaluator_end_to_end() -> None:
    got = run(ANGRY, METRICS)
    assert got["mood"].status == "ok" and got["mood"].value_text == "negative"
    assert got["mood"].model == SENTIMENT_MODEL and "dialogue score" in (got["mood"].rationale or "")
    assert got["mood_score"].value_num is not None and -1 <= got["mood_score"].value_num < -0.35
    assert got["is_negative"].value_bool is True
    assert got["mood_custom"].value_text == "frustrated"
    assert got["topic"].value_text == "billing_question" and got["topic"].model == CLASSIFY_MODEL
    assert got["topics"].value_list == ["billing_question"]
    assert got["refund"].value_num == 120.5 and got["refund"].model == EXTRACT_MODEL
    assert got["refund_small"].status == "out_of_range" and got["refund_small"].value_num == 120.5
    assert json.loads(got["account"].value_text or "") == {"account": "AC-99812", "deadline": "2024-03-15"}
    assert got["account_list"].value_list == ["account: AC-99812", "refund: 120.5"]
    assert got["email"].status == "not_applicable" and got["email"].value_text is None
    assert got["custom_query"].status == "error" and "language model" in (got["custom_query"].error or "")
    assert got["bad_labels"].status == "error" and "cannot be matched" in (got["bad_labels"].error or "")
    contents = [t.content for t in ANGRY.transcript]
    for key, e in got.items():
        assert e.input_tokens == e.output_tokens == 0 and e.cost_usd == 0.0
        if e.status in ("ok", "out_of_range"):
            assert e.rationale, key
            assert e.evidence, key
            assert all(any(quote in c for c in contents) for quote in e.evidence), (key, e.evidence)


def test_evaluator_classify_not_applicable_and_sentiment_without_customer() -> None:
    conv = conversation(("assistant", "Good morning!"), ("user", "what's the weather in Paris"))
    got = run(conv, [metric("topic", "ai_classify", "categorical", ai_labels=["billing", "cancellation"])])
    assert got["topic"].status == "not_applicable" and got["topic"].value_text is None
    only_agent = conversation(("assistant", "Hello? Is anyone there?"))
    got = run(only_agent, [metric("mood", "ai_sentiment", "categorical")])
    assert got["mood"].status == "not_applicable"


def test_evaluator_sentiment_on_a_happy_call() -> None:
    conv = conversation(
        ("assistant", "Your seat is changed."),
        ("user", "Great, thank you so much!"),
        ("user", "That was really helpful."),
    )
    got = run(
        conv,
        [
            metric("mood", "ai_sentiment", "categorical"),
            metric("is_negative", "ai_sentiment", "boolean", aggregation="rate"),
            metric("moods", "ai_sentiment", "list"),
        ],
    )
    assert got["mood"].value_text == "positive"
    assert got["is_negative"].value_bool is False
    assert got["moods"].value_list == ["positive"]
    assert got["mood"].evidence[0] in ("Great, thank you so much!", "That was really helpful.")


def test_evaluator_is_deterministic() -> None:
    def strip(evaluations: list[Evaluation]) -> list[Evaluation]:
        return [dataclasses.replace(e, latency_ms=0.0) for e in evaluations]

    first = asyncio.run(LocalEvaluator().evaluate(ANGRY, METRICS))
    second = asyncio.run(LocalEvaluator().evaluate(ANGRY, METRICS))
    assert strip(first) == strip(second)


# --- shipped MultiDoGO sample --------------------------------------------------------------------------------


def test_classifies_the_shipped_multidogo_sample() -> None:
    """Every third of the 60 shipped conversations (all 6 domains): 15/20 right when measured; floor 12/20."""
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = [r for r in rows if r["labels"]["primary_intent"]][::3][:20]
    assert len(chosen) == 20 and len({r["domain"] for r in chosen}) == 6
    right = 0
    for r in chosen:
        labels = multidogo_labels(r["domain"], sorted(MULTIDOGO_INTENTS[r["domain"]]))
        right += classify(customer_text(r), labels)[0] == r["labels"]["primary_intent"]
    assert right / len(chosen) >= 0.6


# --- the benchmark's own pieces ----------------------------------------------------------------------------------


def test_bench_rating_mapping_and_macro_f1() -> None:
    from bench.free_tier import macro_f1, rating_sentiment

    assert [rating_sentiment(r) for r in ([1, 2, 2], [2, 3], [3, 3, 4], [3, 4], [5, 4])] == [
        "negative",
        "neutral",  # 2.5 rounds half up to 3
        "neutral",
        "positive",  # 3.5 rounds half up to 4
        "positive",
    ]
    assert macro_f1(["a", "a", "b"], ["a", "a", "b"]) == 1.0
    assert macro_f1(["a", "b"], ["a", "a"], ["a", "b"]) == pytest.approx((2 / 3 + 0) / 2, abs=1e-4)


def test_bench_skips_without_the_shared_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.free_tier as bench

    monkeypatch.setattr(bench, "DATASETS", tmp_path / "absent")
    assert set(bench.run(quick=True)) == {"skipped"}
    monkeypatch.setattr(bench, "DATASETS", tmp_path)
    result = bench.run(quick=True)
    assert "skipped" in result["multidogo_primary_intent"] and "skipped" in result["uss_dialogue_sentiment"]


def test_every_free_tier_answer_carries_a_confidence() -> None:
    answers = run(ANGRY, METRICS)
    free = {k: e for k, e in answers.items() if e.status in ("ok", "not_applicable")}
    assert {"mood", "topic", "refund", "account"} <= set(free)
    for key, evaluation in free.items():
        assert evaluation.confidence is not None and 0.0 <= evaluation.confidence <= 1.0, key
    assert answers["custom_query"].confidence is None  # an error carries none


def test_a_bare_label_name_borrows_other_words_for_its_words() -> None:
    from metricstore.evaluation.local import label_document
    from metricstore.evaluation.local.classification import score_labels, thesaurus_document

    labels: list[str | ClassLabel] = ["reportbrokensoftware", "softwareupdate"]
    assert label_document("reportbrokensoftware") == "report broken software"
    assert "crash" in thesaurus_document("reportbrokensoftware")
    # the thesaurus's words rank the label first; alone (none of the name's own words) they weigh half, under
    # the applicability threshold
    assert score_labels(["my app keeps crashing with an error"], labels)[0].name == "reportbrokensoftware"
    # "get" names no intent ("getseatinfo" is about seat info): a customer's "I need" no longer meets every get-label
    assert label_document("getseatinfo") == "seat info"
    ranked = score_labels(["i need internet"], ["getchannelpackage", "getinformation", "startservice"])
    assert all(score.peak < 0.1 for score in ranked if score.name.startswith("get"))
    assert ranked[0].name == "startservice"  # a thing asked for reads as starting one (asks_for_a_thing)
    described = ClassLabel(name="cancel", description="The customer ends the plan.", examples=[])
    assert label_document(described) == "cancel . The customer ends the plan."  # as its author wrote it


def test_buying_starts_something_and_a_problem_is_something_broken() -> None:
    from metricstore.evaluation.local.classification import score_labels

    media = ["getchannelpackage", "getinformation", "startservice", "upgradeservice", "viewbills"]
    assert score_labels(["i want to purchase internet"], media)[0].name == "startservice"
    orders = ["changeorder", "startorder", "stoporder"]
    assert score_labels(["i want to order 20 keyboards"], orders)[0].name == "startorder"  # not stop, by length
    assert score_labels(["i want to cancel my order"], orders)[0].name == "stoporder"
    software = ["expensereport", "reportbrokensoftware", "softwareupdate"]
    for said in ("i have an issue with my outlook", "i have a problem with chrome", "trouble with skype"):
        assert score_labels([said], software)[0].name == "reportbrokensoftware", said


def test_thesaurus_words_do_not_dilute_a_bare_names_own_words() -> None:
    # "status" lends "update" to check-server-status; a customer's "update" still belongs to software-update,
    # whose own name says it
    from metricstore.evaluation.local.classification import score_labels

    labels: list[str | ClassLabel] = ["checkserverstatus", "softwareupdate"]
    assert score_labels(["hi", "i want to update outlook", "james"], labels)[0].name == "softwareupdate"


def test_a_customers_words_are_also_read_in_the_thesauruss_head_words() -> None:
    from metricstore.evaluation.local.classification import _similarities, label_similarities
    from metricstore.evaluation.local.thesaurus import request_words

    assert "broken" in request_words("my app keeps crashing").split()
    # an inflected word is read as its base form where the thesaurus holds that
    assert request_words("some software issues") == request_words("i keep getting errors") == "broken"
    assert request_words("what is it about") == ""  # stop words ("what", "is", "about") alone say nothing
    assert request_words("sign me up") == "start"
    assert request_words("cancel it") == "stop close"  # the text's own words are not added again
    # described labels whose texts share the object: the customer's "terminate" reaches "cancel" only as read
    labels: list[str | ClassLabel] = [
        ClassLabel(name="new_plan", description="Customer signs up for a plan.", examples=["i want my plan"]),
        ClassLabel(name="cancel_plan", description="Customer ends a plan.", examples=["cancel it"]),
    ]
    text = ["please terminate my plan"]
    assert _similarities(text, labels)[0].argmax() == 0  # as said: the object words decide, wrongly
    assert label_similarities(text, labels)[0].argmax() == 1
    assert classify("please terminate my plan", labels)[0] == "cancel_plan"


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("whatsapp not open", "broken"),  # a denied action is no request for it: something fails
        ("i am unable to send the message", "broken"),
        ("skype is not able to open", "broken"),
        ("my app doesn't load", "broken"),  # n't
        ("the app won\u2019t open", "broken"),  # with a typographic apostrophe
        ("i can't find my card", "lost"),  # an entry's own denied phrase ("cannot find")
        ("i did not make this charge", "dispute"),
        ("i am not happy with it", ""),  # a denied feeling is a mood, not a failure
        ("the app will open", "start new"),  # not denied: read as before
        ("no thank you", ""),  # "no" answers, it denies no action
    ],
)
def test_a_denied_action_is_read_as_a_failure(text: str, read: str) -> None:
    from metricstore.evaluation.local.thesaurus import request_words

    assert request_words(text) == read


def test_a_denied_open_goes_to_the_broken_label_not_the_one_to_open() -> None:
    from metricstore.evaluation.local.classification import score_labels

    names: list[str | ClassLabel] = ["startorder", "reportbrokensoftware", "getpromotions"]
    assert score_labels(["hi", "my skype will not open", "john"], names)[0].name == "reportbrokensoftware"
    assert score_labels(["hi", "i want to open an order", "john"], names)[0].name == "startorder"


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("i need a phone connection", True),
        ("hi i want internet", True),  # a bare thing
        ("I'd like another line", True),
        ("i don't need a router", False),  # denied
        ("i need to check my seat", False),  # "to": a verb follows, not a thing
        ("i need a help", False),  # a courtesy word
        ("i need reimbursed my expense", False),  # a form ending in -ed
        ("i want cancel my plan", False),  # a word the thesaurus reads says its own request
        ("i need my bill", False),  # "my": a thing the customer has
        ("i need", False),
    ],
)
def test_a_request_for_a_thing_not_yet_had(text: str, asks: bool) -> None:
    from metricstore.evaluation.local.thesaurus import asks_for_a_thing, request_words

    assert asks_for_a_thing(text) is asks
    assert ("start" in request_words(text).split()) is asks


def test_a_request_for_a_thing_goes_to_the_label_for_starting_one() -> None:
    from metricstore.evaluation.local.classification import score_labels

    names: list[str | ClassLabel] = ["transferserviceintent", "upgradeserviceintent", "startserviceintent"]
    # every name says service, and "connection" reads as service: the thing asked for decides
    assert score_labels(["hi", "i need a phone connection", "chennai"], names)[0].name == "startserviceintent"
    assert score_labels(["hi", "i want to move my service", "chennai"], names)[0].name == "transferserviceintent"


def test_only_head_words_some_label_holds_are_read_into_a_line() -> None:
    from metricstore.evaluation.local.classification import _similarities, read_similarities

    booking = ClassLabel(name="booking", description="Booking or changing orders.", examples=["cancel my order"])
    billing = ClassLabel(name="billing", description="Charges and payments.", examples=["pay my bill"])
    line = ["i want one pizza and one salad"]  # read as "start": no label says it, so it would only dilute
    assert (read_similarities(line, [booking, billing]) == _similarities(line, [booking, billing])).all()
    starting = ClassLabel(name="new_service", description="The customer starts a service.", examples=[])
    assert (read_similarities(line, [booking, starting]) != _similarities(line, [booking, starting])).any()


def test_what_a_customers_nouns_are_kinds_of() -> None:
    from metricstore.evaluation.local.hypernyms import kinds_of

    kinds = kinds_of("yes 1 lemonade and 2 tea").split()
    assert {"beverage", "drink"} <= set(kinds)
    assert kinds_of("lemonade", levels=1) == "ade"  # one level up only
    assert kinds_of("is it ok") == ""  # stop words and short words are not looked up ("it": technology)
    assert "drink" not in kinds_of("a drink and a beverage").split()  # the text's own words are not added


def test_a_bare_label_name_meets_the_things_customers_name() -> None:
    from metricstore.evaluation.local.classification import label_similarities, read_similarities, score_labels

    names: list[str | ClassLabel] = ["orderdrinkintent", "orderpizzaintent", "ordersaladintent"]
    text = ["can i get 2 lemonade and a tea"]
    assert read_similarities(text, names).max() == 0  # no word of any name is said
    assert score_labels(text, names)[0].name == "orderdrinkintent"  # lemonade and tea are drinks
    # described labels are matched as their authors wrote them: the blend leaves them alone
    described: list[str | ClassLabel] = [
        ClassLabel(name="drinks", description="Customer orders something to drink.", examples=["a soda"]),
        ClassLabel(name="pizza", description="Customer orders a pizza.", examples=["a large pepperoni"]),
    ]
    assert (label_similarities(text, described) == read_similarities(text, described)).all()


def test_the_wordnet_table_ships_in_the_package_with_its_license() -> None:
    from importlib import resources

    from metricstore.evaluation.local.hypernyms import _table

    folder = resources.files("metricstore.evaluation.local") / "wordnet"
    assert "Princeton University" in (folder / "WORDNET-LICENSE").read_text(encoding="utf-8")
    table = _table()
    assert len(table) > 50_000  # every one-word noun WordNet knows hypernyms of
    assert table["tea"].split("|")[0].split()[:2] == ["beverage", "drink"]  # one level up


def test_request_words_keep_service_words_and_read_verbs_as_verbs() -> None:
    from metricstore.evaluation.local.hypernyms import kinds_of
    from metricstore.evaluation.local.thesaurus import request_words

    assert "lost" in request_words("I can't find my card").split()  # "find" is no stop word here
    assert "bill" in request_words("the amount due is wrong").split()
    # "need" after "I" is a verb, not WordNet's noun (a condition, a status): no label reaches the threshold
    assert kinds_of("I need to know something") == ""
    assert classify("I need to know something", ["check_status", "general_question"])[0] is None
    assert kinds_of("my résumé") == ""  # a word with a letter outside a-z is looked up whole, not as "sum"
