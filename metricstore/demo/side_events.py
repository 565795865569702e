"""The events a demo conversation causes in the other sources: tool calls and handoffs (``world_events``), widget,
SMS and email touch points (``surface_events``), detected emotions (``emotion_events``), CRM, ticketing, payment
and calendar calls (``connector_events``) and voice judges' scores (``voice_judge_results``)."""

from __future__ import annotations

import math

from metricstore.demo.draws import _clamp, _Draws, _weighted
from metricstore.demo.events import _Conversation, _Event
from metricstore.demo.vocabulary import _Domain


def _side_events(draws: _Draws, conv: _Conversation, dom: _Domain) -> list[_Event]:
    rng = draws.rng
    events: list[_Event] = []
    bad = conv.sentiment == "negative" or conv.status in ("failed", "abandoned")

    # world_events: tool calls, a handoff for escalations, goal completion for resolved calls
    kinds = [
        _weighted(rng, (("tool_call", 0.75), ("handoff", 0.1), ("goal_completed", 0.15))) for _ in range(draws.count())
    ]
    if conv.status == "escalated" and "handoff" not in kinds:
        kinds.append("handoff")
    if conv.call_status != "resolved":
        kinds = [k for k in kinds if k != "goal_completed"]
    for kind in kinds[:3]:
        at = draws.during(conv)
        if at is None:
            break
        if kind == "tool_call":
            name = rng.choice(dom.tools)
            duration_ms = round(_clamp(rng.lognormvariate(math.log(400.0), 0.7), 20, 15000))
            outcome = "failure" if rng.random() < (0.15 if bad else 0.04) else "success"
        elif kind == "handoff":
            name = rng.choice(("human_agent", "tier2_support", "billing_specialist"))
            duration_ms = rng.randint(500, 8000)
            outcome = "failure" if rng.random() < 0.08 else "success"
        else:
            name = conv.intent
            duration_ms = rng.randint(1000, 60000)
            outcome = "success"
        data = {"name": name, "outcome": outcome, "duration_ms": duration_ms}
        events.append(draws.event(conv, at, "world_events", f"world_events.{kind}", data))

    # surface_events: widget, SMS and email touch points
    for _ in range(draws.count()):
        at = draws.during(conv)
        if at is None:
            break
        kind = _weighted(rng, (("impression", 0.6), ("click", 0.3), ("error", 0.1)))
        if conv.channel == "text":
            surface = "web_widget" if rng.random() < 0.7 else "sms"
        else:
            surface = "sms" if rng.random() < 0.5 else "email"
        element = rng.choice(
            {
                "web_widget": ("chat_launcher", "message_input", "send_button", "csat_survey"),
                "sms": ("sms_link", "sms_reply", "appointment_link"),
                "email": ("email_summary", "email_cta", "unsubscribe_link"),
            }[surface]
        )
        error_code = None
        if kind == "error":
            error_code = rng.choice(("E_WIDGET_LOAD", "E_SEND_FAILED", "E_TIMEOUT", "E_RENDER"))
        data = {"surface": surface, "element": element, "error_code": error_code}
        events.append(draws.event(conv, at, "surface_events", f"surface_events.{kind}", data, channel="surface"))

    # emotion_events: correlated with the conversation's sentiment
    emotion_weights = {
        "positive": (("joy", 0.55), ("neutral", 0.35), ("confusion", 0.07), ("frustration", 0.03)),
        "neutral": (("neutral", 0.5), ("confusion", 0.2), ("joy", 0.15), ("frustration", 0.15)),
        "negative": (
            ("frustration", 0.35),
            ("anger", 0.25),
            ("confusion", 0.15),
            ("neutral", 0.15),
            ("joy", 0.1),
        ),
    }[conv.sentiment]
    for _ in range(draws.count()):
        at = draws.during(conv)
        if at is None:
            break
        speaker = "user" if rng.random() < 0.75 and "user" in conv.roles else "assistant"
        span = max(1.0, (conv.end - conv.start).total_seconds())
        position = int((at - conv.start).total_seconds() / span * (len(conv.roles) - 1) + 0.5)
        candidates = [i for i, role in enumerate(conv.roles) if role == speaker]
        turn_index = min(candidates, key=lambda i: (abs(i - position), i))
        if speaker == "assistant":
            emotion = "neutral" if rng.random() < 0.7 else "joy"
        else:
            emotion = _weighted(rng, emotion_weights)
        base = {"joy": 0.6, "neutral": 0.3, "frustration": 0.6, "anger": 0.75, "confusion": 0.5}[emotion]
        intensity = round(_clamp(rng.gauss(base, 0.15), 0.0, 1.0), 3)
        data = {"emotion": emotion, "intensity": intensity, "speaker": speaker, "turn_index": turn_index}
        events.append(draws.event(conv, at, "emotion_events", "emotion_events.detected", data))

    # connector_events: CRM, ticketing, payments and calendar calls
    connectors = {
        "svc_support": (("zendesk", 0.6), ("salesforce", 0.25), ("calendar", 0.15)),
        "svc_sales": (("salesforce", 0.55), ("calendar", 0.3), ("stripe", 0.15)),
        "svc_billing": (("stripe", 0.6), ("salesforce", 0.25), ("zendesk", 0.15)),
    }[conv.service_id]
    operations = {
        "salesforce": ("get_contact", "update_contact", "create_opportunity", "log_activity"),
        "zendesk": ("create_ticket", "update_ticket", "search_tickets"),
        "stripe": ("get_customer", "list_invoices", "create_refund", "update_payment_method"),
        "calendar": ("find_slots", "create_event", "cancel_event"),
    }
    for _ in range(draws.count()):
        at = draws.during(conv)
        if at is None:
            break
        connector = _weighted(rng, connectors)
        operation = rng.choice(operations[connector])
        status = _weighted(rng, (("success", 0.9), ("error", 0.06), ("timeout", 0.04)))
        if status == "success":
            http_status = 201 if operation.startswith("create_") else 200
            latency_ms = round(_clamp(rng.lognormvariate(math.log(250.0), 0.6), 15, 9000))
        elif status == "error":
            http_status = rng.choice((400, 401, 404, 409, 422, 429, 500, 502, 503))
            latency_ms = round(_clamp(rng.lognormvariate(math.log(300.0), 0.7), 15, 9000))
        else:
            http_status = 504
            latency_ms = rng.randint(10000, 30000)
        data = {
            "connector": connector,
            "operation": operation,
            "status": status,
            "latency_ms": latency_ms,
            "http_status": http_status,
        }
        events.append(draws.event(conv, at, "connector_events", "connector_events.request", data))

    # voice_judge_results: voice conversations only, one score per judge at most
    if conv.channel == "voice":
        judges = rng.sample(("voice_quality", "policy_adherence", "task_completion"), k=draws.count())
        for judge in judges:
            at = draws.during(conv)
            if at is None:
                break
            centre = (
                conv.quality / 10.0 + {"voice_quality": 0.3, "policy_adherence": 0.8, "task_completion": 0.0}[judge]
            )
            if judge == "task_completion" and conv.call_status != "resolved":
                centre -= 2.5
            score = round(_clamp(rng.gauss(centre, 1.0), 0.0, 10.0), 1)
            data = {
                "judge": judge,
                "score": score,
                "passed": score >= 6.0,
                "conversation_id": conv.conv_id,
            }
            events.append(draws.event(conv, at, "voice_judge_results", "voice_judge_results.scored", data))
    return events
