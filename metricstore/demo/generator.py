"""Drawing the demo's conversations: one call's snapshot (who, what, how it went, its summary and follow-ups), an
earlier in-progress snapshot now and then, its events in the other sources, and the deliberately malformed lines."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from metricstore.demo.draws import _clamp, _Draws, _weighted
from metricstore.demo.events import _Conversation, _dumps, _envelope, _Event, _iso_z
from metricstore.demo.samples import _load_samples, _Sample
from metricstore.demo.side_events import _side_events
from metricstore.demo.transcript import transcript
from metricstore.demo.vocabulary import (
    _AGENTS,
    _AREA_CODES,
    _CONTACT_POOL_SIZE,
    _DOMAINS,
    _FIRST_NAMES,
    _LAST_NAMES,
    _SERVICE_WEIGHTS,
    _Contact,
    _phrase,
    _slot_name,
)


class _Generator(_Draws):
    """Holds the seeded RNG and everything drawn from it, in a fixed order."""

    def __init__(self, rng: random.Random, start: datetime, end: datetime) -> None:
        super().__init__(rng, start, end)
        self.samples = _load_samples()
        self.samples_by_service: dict[str, list[_Sample]] = defaultdict(list)
        for sample in self.samples:
            self.samples_by_service[_DOMAINS[sample.domain].service_id].append(sample)
        self.contacts = [self._contact() for _ in range(_CONTACT_POOL_SIZE)]

    def _contact(self) -> _Contact:
        rng = self.rng
        name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
        phone = f"+1{rng.choice(_AREA_CODES)}55501{rng.randrange(100):02d}"  # 555-01xx: fictional numbers
        return _Contact(contact_id=self._unique("cnt_", 12), name=name, phone=phone)

    # ---- one conversation ----------------------------------------------------------------------

    def conversation(self, final_at: datetime) -> tuple[_Conversation, list[_Event]]:
        """Draw one conversation whose final snapshot occurs at ``final_at``, plus its other events."""
        rng = self.rng
        service_id = _weighted(rng, _SERVICE_WEIGHTS)
        sample = rng.choice(self.samples_by_service[service_id])
        dom = _DOMAINS[sample.domain]
        agent_id, agent_name, skill = rng.choice(_AGENTS)
        contact = rng.choice(self.contacts)
        channel = "voice" if rng.random() < 0.65 else "text"
        direction: str | None = "inbound" if rng.random() < 0.75 else "outbound"
        if channel == "text" and rng.random() < 0.02:
            direction = None
        is_simulation = rng.random() < 0.05
        intent = sample.primary_intent or "other"

        p_neg = 0.20 - 0.012 * skill
        p_pos = 0.45 + 0.015 * skill
        sentiment = _weighted(rng, (("positive", p_pos), ("neutral", 1.0 - p_pos - p_neg), ("negative", p_neg)))
        status_weights = {
            "positive": (("completed", 0.945), ("escalated", 0.02), ("abandoned", 0.02), ("failed", 0.015)),
            "neutral": (("completed", 0.87), ("escalated", 0.06), ("abandoned", 0.05), ("failed", 0.02)),
            "negative": (("completed", 0.57), ("escalated", 0.30), ("abandoned", 0.10), ("failed", 0.03)),
        }[sentiment]
        status = _weighted(rng, status_weights)
        if status == "escalated":
            call_status = "escalated"
        elif status == "abandoned" and channel == "voice" and direction == "outbound":
            call_status = "voicemail"
            sentiment = "neutral"
        elif status in ("abandoned", "failed"):
            call_status = "unresolved"
        else:
            p_unresolved = {"positive": 0.02, "neutral": 0.08, "negative": 0.35}[sentiment]
            call_status = "unresolved" if rng.random() < p_unresolved else "resolved"

        if channel == "voice":
            duration = _clamp(rng.lognormvariate(math.log(330.0), 0.55), 60.0, 1200.0)
        else:
            duration = _clamp(rng.lognormvariate(math.log(170.0), 0.6), 30.0, 900.0)
        if call_status == "voicemail":
            duration = rng.uniform(30.0, 90.0)
        elif status in ("abandoned", "failed"):
            duration = max(30.0, duration * rng.uniform(0.2, 0.5))
        duration_s = round(duration)
        end = final_at - timedelta(seconds=rng.randint(5, 90))  # post-call analysis lands shortly after
        start = end - timedelta(seconds=duration_s)

        p_callback = 0.5 if status == "escalated" else 0.4 if call_status == "unresolved" else 0.05
        if sentiment == "negative":
            p_callback = max(p_callback, 0.35)
        callback = call_status == "voicemail" or rng.random() < p_callback
        p_ticket = 0.7 if status == "escalated" else 0.4 if sentiment == "negative" else 0.08
        ticket = rng.random() < p_ticket
        follow_up: str | None = None
        if callback:
            follow_up = "Call the customer back"
        elif status == "escalated":
            follow_up = "Specialist review of the escalated case"
        elif call_status == "unresolved":
            follow_up = rng.choice(("Send an email follow-up", "Check the request status"))
        elif ticket:
            follow_up = "Monitor the support ticket"
        promised = None
        if callback or (follow_up is not None and rng.random() < 0.5):
            promised = (final_at + timedelta(days=rng.randint(1, 5))).date().isoformat()
        transcription = transcript(
            rng, sample, dom, agent_name, status, call_status, intent, sentiment=sentiment, promised=promised
        )
        quality = {"positive": 82.0, "neutral": 70.0, "negative": 48.0}[sentiment] + skill + rng.gauss(0.0, 8.0)
        quality += {"completed": 0.0, "escalated": -5.0, "abandoned": -15.0, "failed": -20.0}[status]
        quality = round(_clamp(quality, 0.0, 100.0), 1)
        ticket_no = f"TCK-{rng.randrange(10000, 100000)}"

        phrase = _phrase(intent)
        outcome = {
            "resolved": f"The agent completed the request for {phrase}.",
            "unresolved": "The request was not fully resolved.",
            "escalated": "The case was escalated to a specialist.",
            "voicemail": "The agent left a voicemail.",
        }[call_status]
        if status == "abandoned" and call_status != "voicemail":
            outcome = "The customer disconnected before the request was resolved."
        elif status == "failed":
            outcome = "The conversation ended because of a technical failure."
        mood = {
            "positive": "The customer was satisfied with the service.",
            "neutral": "The customer's tone was neutral.",
            "negative": "The customer was frustrated during the conversation.",
        }[sentiment]
        summary = f"The customer contacted {dom.brand} about {phrase}. {outcome}"
        if call_status != "voicemail":
            summary += f" {mood}"
        if promised is not None:
            summary += f" A follow-up was promised by {promised}."

        key_points = [f"Customer contacted {dom.brand} about {phrase}."]
        used_turns = sum(1 for entry in transcription if entry["role"] == "user")
        slot_types = [t for turn in sample.turns[:used_turns] for t, _ in (turn.slots or ())]
        for slot_type in list(dict.fromkeys(slot_types))[:2]:
            key_points.append(f"Customer provided their {_slot_name(slot_type)}.")
        key_points.append(outcome)
        if sentiment == "negative":
            key_points.append("Customer expressed frustration.")
        key_points = key_points[: rng.randint(1, 4)]
        action_items: list[str] = []
        if callback:
            action_items.append(f"Call the customer back by {promised}.")
        if ticket:
            action_items.append(f"Track support ticket {ticket_no}.")
        if status == "escalated":
            action_items.append("Specialist to review the escalated case.")
        if call_status == "unresolved":
            action_items.append(f"Follow up on {phrase}.")
        action_items = action_items[:3]

        conv_id = self._unique("conv_", 16)
        session_id = self._unique("CA", 32)
        final_data: dict[str, Any] = {
            "id": conv_id,
            "snapshot_version": 1,
            "contactId": contact.contact_id,
            "agentId": agent_id,
            "status": status,
            "startTime": _iso_z(start),
            "endTime": _iso_z(end),
            "duration": duration_s,
            "phoneNumber": contact.phone if channel == "voice" else None,
            "contactName": contact.name,
            "recordingUrl": f"https://recordings.example.com/{conv_id}.wav" if channel == "voice" else None,
            "transcription": transcription,
            "summary": summary,
            "intent": intent,
            "sentiment": sentiment,
            "confidence": round(_clamp(rng.uniform(0.72, 0.98) - (0.12 if len(transcription) < 4 else 0.0), 0, 1), 2),
            "keyPoints": key_points,
            "actionItems": action_items,
            "callStatus": call_status,
            "callbackRequired": callback,
            "promisedDate": promised,
            "selfEvaluation": int(_clamp(round(quality / 10.0 + rng.gauss(0.5, 1.0)), 1, 10)),
            "followUpAction": follow_up,
            "ticketRaised": ticket,
            "quality_score": quality,
        }
        conv = _Conversation(
            conv_id=conv_id,
            session_id=session_id,
            service_id=service_id,
            domain=sample.domain,
            channel=channel,
            direction=direction,
            is_simulation=is_simulation,
            start=start,
            end=end,
            sentiment=sentiment,
            status=status,
            call_status=call_status,
            quality=quality,
            intent=intent,
            roles=tuple(entry["role"] for entry in transcription),
        )

        events: list[_Event] = []
        if rng.random() < 0.30:  # an earlier in-progress snapshot a few minutes before the final one
            fraction = rng.uniform(0.35, 0.75)
            early_at = start + timedelta(seconds=round(duration_s * fraction))
            if early_at >= self.start:
                final_data["snapshot_version"] = 2
                early = {
                    "id": conv_id,
                    "snapshot_version": 1,
                    "contactId": contact.contact_id,
                    "agentId": agent_id,
                    "status": "in_progress",
                    "startTime": _iso_z(start),
                    "phoneNumber": final_data["phoneNumber"],
                    "contactName": contact.name,
                    "transcription": transcription[: max(1, round(len(transcription) * fraction))],
                }
                events.append(self.event(conv, early_at, "call_intelligence", "call_intelligence.row", early))
        copies = 2 if rng.random() < 0.01 else 1
        events.append(self.event(conv, final_at, "call_intelligence", "call_intelligence.row", final_data, copies))
        events.extend(_side_events(self, conv, dom))
        return conv, events

    # ---- malformed lines -----------------------------------------------------------------------

    def malformed_lines(self, hour_start: datetime) -> list[tuple[datetime, str, str]]:
        """Four deliberately broken call_intelligence lines in the hour starting at ``hour_start``."""
        lines: list[tuple[datetime, str, str]] = []
        for kind in ("truncated", "no_workspace", "string_bool", "no_data_id"):
            at = hour_start + timedelta(seconds=self.rng.randrange(3600))
            _, events = self.conversation(at)  # a throwaway conversation; only its final row is used
            final = next(e for e in events if e.source == "call_intelligence" and e.at == at)
            envelope = _envelope(final)
            if kind == "no_workspace":
                del envelope["workspace_id"]
            elif kind == "string_bool":
                envelope["is_simulation"] = "no"
            elif kind == "no_data_id":
                envelope["data"] = {k: v for k, v in envelope["data"].items() if k != "id"}
            text = _dumps(envelope)
            if kind == "truncated":
                text = text[: len(text) // 2]
            lines.append((at, final.event_id, text))
        return lines
