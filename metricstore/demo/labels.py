"""Labelled answers for the demo's ``contact_reason`` metric, from the human intent labels of the MultiDoGO
conversations the demo's calls are built from (``metricstore calibrate contact_reason --labels …`` on the demo).

Each MultiDoGO intent is mapped to the reason the demo's definition describes (billing, account_access, booking,
technical_issue, information) by reading the intent's name against the label's description, never the free tier's
answers; an intent no reason fits plainly (opening an account, an expense report…) is left unlabelled rather than
guessed. One conversation in :data:`EVERY` is labelled, as a team would label a sample.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

EVERY = 5
CONTACT_REASON = {
    # airline
    "bookflight": "booking",
    "changeseatassignment": "booking",
    "getseatinfo": "information",
    "getboardingpass": "booking",
    # fastfood: orders are bookings in the demo's definition ("flights, seats, orders or appointments")
    "orderpizzaintent": "booking",
    "orderburgerintent": "booking",
    "orderdrinkintent": "booking",
    "ordersaladintent": "booking",
    "orderdessertintent": "booking",
    "ordersideintent": "booking",
    "orderbreakfastintent": "booking",
    # finance
    "reportlostcard": "account_access",
    "replacecard": "account_access",
    "checkbalance": "billing",
    "transfermoney": "billing",
    "disputecharge": "billing",
    "getroutingnumber": "information",
    "checkoffereligibility": "information",
    "orderchecks": "booking",
    # insurance
    "getproofofinsurance": "information",
    "checkclaimstatus": "information",
    # media
    "getinformationintent": "information",
    "viewbillsintent": "billing",
    "cancelserviceintent": "booking",
    "viewdatausageintent": "information",
    "getchannelpackageintent": "information",
    "updateaccountinfo": "account_access",
    # software
    "reportbrokensoftware": "technical_issue",
    "softwareupdate": "technical_issue",
    "checkserverstatus": "technical_issue",
    "startorder": "booking",
    "changeorder": "booking",
    "stoporder": "booking",
    "providereceipt": "billing",
    "getpromotions": "information",
}


def write_contact_reason_labels(path: Path, conversations: Iterable[tuple[str, str]]) -> int:
    """Write a labels file for ``contact_reason`` from (conversation id, MultiDoGO intent) pairs in generation
    order; returns the number of labels written."""
    lines = []
    for index, (conversation_id, intent) in enumerate(conversations):
        reason = CONTACT_REASON.get(intent)
        if index % EVERY == 0 and reason is not None:
            lines.append(json.dumps({"conversation_id": conversation_id, "expected": reason, "rater": "multidogo"}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)
