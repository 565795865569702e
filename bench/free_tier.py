"""The `free` tier measured on real labelled conversations (python -m bench.free_tier [--quick]).

**MultiDoGO primary intent** (``../shared/datasets/multidogo``): each conversation with a primary intent is
classified, from its customer turns, against every primary intent seen in its domain. The labels are the intent
names plus a description and two example phrases per intent written from the intent *names* only
(:data:`MULTIDOGO_INTENTS`), never from the conversations. Accuracy and macro-F1 per domain and overall, beside
the majority-class baseline; "names only" repeats it with the bare names. ``forced`` takes the top label;
``thresholded`` counts an answer below the applicability threshold (None) as wrong. Choices tuned on the data
(the character n-gram range, the position decay and the threshold) were chosen on the ``train`` split (and
checked on ``dev``); ``test_split`` is the figure on the split never used for any choice. The threshold is the
cut that best separates a conversation scored against its own domain's intents from the same conversation
scored against the next domain's (``rejection``): on train, 0.32 with described labels and 0.28 with bare
names; 0.30 is used.

**USS dialogue sentiment** (``../shared/datasets/uss_satisfaction``, read in place: it may not ship): the
dialogue rating is the mean of the annotators' ``OVERALL`` ratings, rounded half up, mapped 1–2 → negative,
3 → neutral, 4–5 → positive (the README's ``overall_sentiment``). The free tier's sentiment of the customer
turns is compared with it: macro-F1 beside the always-neutral baseline. The thresholds were chosen here:
``threshold_choice`` tunes the positive cut on each part (SGD, MWOZ) alone, on a 0.05 grid, and scores it on
the other part; both parts pick 0.35. VADER's stock ±0.05 cut is shown for comparison.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from metricstore.definitions import ClassLabel
from metricstore.evaluation.local import (
    CLASSIFY_MODEL,
    CLASSIFY_THRESHOLD,
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    SENTIMENT_MODEL,
    score_labels,
    sentiment,
)

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
QUICK_PER_DOMAIN = 100
SENTIMENTS = ("negative", "neutral", "positive")

# Written from the intent names only (what such a request means in that business), not from the conversations.
MULTIDOGO_INTENTS: dict[str, dict[str, tuple[str, list[str]]]] = {
    "airline": {
        "bookflight": (
            "Book a flight: the customer wants to book or reserve a new flight, a plane ticket from one city "
            "to another on a travel date.",
            ["i want to book a flight", "reserve a plane ticket to chicago"],
        ),
        "changeseatassignment": (
            "Change seat assignment: the customer wants to change, switch or move their assigned seat on a "
            "flight, for example to a window or aisle seat.",
            ["i want to change my seat", "can you move me to an aisle seat"],
        ),
        "getseatinfo": (
            "Get seat information: the customer asks which seat they have, their seat number or details about "
            "their seat on a flight.",
            ["what is my seat number", "which seat am i in"],
        ),
        "getboardingpass": (
            "Get boarding pass: the customer wants their boarding pass for a flight, sent to them or printed "
            "for check-in.",
            ["i need my boarding pass", "send me the boarding pass"],
        ),
    },
    "fastfood": {
        "orderpizzaintent": (
            "Order pizza: the customer wants to order a pizza, with a size, crust and toppings such as cheese "
            "or pepperoni.",
            ["i want to order a pizza", "a large pepperoni pizza please"],
        ),
        "orderburgerintent": (
            "Order burger: the customer wants to order a burger or hamburger, such as a cheeseburger or "
            "chicken burger.",
            ["i would like a burger", "can i get a cheeseburger"],
        ),
        "orderdrinkintent": (
            "Order drink: the customer wants to order a drink or beverage such as a soda, coke, juice, coffee, "
            "tea or a shake.",
            ["i want a drink", "a large coke please"],
        ),
        "ordersaladintent": (
            "Order salad: the customer wants to order a salad, such as a caesar or garden salad, with a dressing.",
            ["i would like a salad", "one caesar salad"],
        ),
        "orderdessertintent": (
            "Order dessert: the customer wants to order a dessert or something sweet such as ice cream, cake, "
            "a cookie or pie.",
            ["i want a dessert", "can i get some ice cream"],
        ),
        "ordersideintent": (
            "Order side: the customer wants to order a side dish such as fries, onion rings or nuggets.",
            ["i want a side of fries", "add onion rings"],
        ),
        "orderbreakfastintent": (
            "Order breakfast: the customer wants to order breakfast food such as eggs, pancakes, bacon or a "
            "breakfast sandwich.",
            ["i want to order breakfast", "can i get pancakes and eggs"],
        ),
    },
    "finance": {
        "reportlostcard": (
            "Report lost card: the customer reports that their credit or debit card was lost or stolen and "
            "wants it blocked.",
            ["i lost my credit card", "my card was stolen"],
        ),
        "replacecard": (
            "Replace card: the customer wants a replacement or new card because the card is damaged, broken "
            "or expired.",
            ["i need a replacement card", "my card is damaged send me a new one"],
        ),
        "updateaddress": (
            "Update address: the customer wants to update or change the mailing address on their account "
            "because they moved.",
            ["i want to change my address", "update my address please"],
        ),
        "checkbalance": (
            "Check balance: the customer wants to know the balance of their checking or savings account.",
            ["what is my account balance", "check my balance"],
        ),
        "transfermoney": (
            "Transfer money: the customer wants to transfer or send money from one account to another account.",
            ["i want to transfer money", "move 500 dollars to my savings"],
        ),
        "disputecharge": (
            "Dispute charge: the customer disputes a charge or transaction on their card or account that they "
            "did not make or that is wrong.",
            ["i want to dispute a charge", "there is a charge i did not make"],
        ),
        "closeaccount": (
            "Close account: the customer wants to close or cancel their bank account.",
            ["i want to close my account", "cancel my bank account"],
        ),
        "openaccount": (
            "Open account: the customer wants to open a new bank account, such as a checking or savings account.",
            ["i want to open an account", "open a new savings account"],
        ),
        "getroutingnumber": (
            "Get routing number: the customer asks for the bank's routing number for their account.",
            ["what is the routing number", "i need my routing number"],
        ),
        "checkoffereligibility": (
            "Check offer eligibility: the customer asks whether they are eligible or qualify for an offer, a "
            "promotion or a new credit card.",
            ["am i eligible for this offer", "do i qualify for the card offer"],
        ),
        "orderchecks": (
            "Order checks: the customer wants to order a new checkbook or paper checks for their account.",
            ["i want to order checks", "send me a new checkbook"],
        ),
    },
    "insurance": {
        "getproofofinsurance": (
            "Get proof of insurance: the customer wants proof of insurance or an insurance card or certificate "
            "for their car policy.",
            ["i need proof of insurance", "send me my insurance card"],
        ),
        "checkclaimstatus": (
            "Check claim status: the customer asks for the status of an insurance claim they filed.",
            ["what is the status of my claim", "check my claim"],
        ),
        "reportbrokenphone": (
            "Report broken phone: the customer reports that their phone is broken, cracked or damaged and "
            "wants to file a claim on the phone insurance.",
            ["my phone is broken", "i cracked my phone screen"],
        ),
    },
    "media": {
        "startserviceintent": (
            "Start service: the customer wants to start or sign up for a new service such as internet, cable "
            "tv or phone at their home.",
            ["i want to start a new service", "sign me up for internet"],
        ),
        "getinformationintent": (
            "Get information: the customer asks for information about the services, plans, prices or the company.",
            ["i need some information about your plans", "what services do you offer"],
        ),
        "viewbillsintent": (
            "View bills: the customer wants to see or check their bill, the amount due or past bills and payments.",
            ["i want to see my bill", "how much is my bill"],
        ),
        "transferserviceintent": (
            "Transfer service: the customer wants to transfer or move their service to a new address or to "
            "another person.",
            ["i want to transfer my service to my new home", "move my service"],
        ),
        "upgradeserviceintent": (
            "Upgrade service: the customer wants to upgrade their plan or service to a faster or bigger package.",
            ["i want to upgrade my plan", "upgrade my internet speed"],
        ),
        "cancelserviceintent": (
            "Cancel service: the customer wants to cancel or stop their service or subscription.",
            ["i want to cancel my service", "stop my subscription"],
        ),
        "viewdatausageintent": (
            "View data usage: the customer wants to see how much data they have used on their plan.",
            ["how much data have i used", "check my data usage"],
        ),
        "getchannelpackageintent": (
            "Get channel package: the customer wants a tv channel package or asks which channels a package includes.",
            ["i want a channel package", "which channels are in the sports package"],
        ),
        "updateaccountinfo": (
            "Update account info: the customer wants to update or change personal information on their account "
            "such as name, email or phone number.",
            ["i want to update my account information", "change the email on my account"],
        ),
    },
    "software": {
        "reportbrokensoftware": (
            "Report broken software: the customer reports that a software program or application is broken, "
            "crashing, not working or showing an error.",
            ["my software is not working", "the program keeps crashing"],
        ),
        "softwareupdate": (
            "Software update: the customer wants to update or upgrade their software to the latest version, or "
            "has a problem installing an update.",
            ["i need to update my software", "how do i install the latest version"],
        ),
        "expensereport": (
            "Expense report: the customer wants to submit, file or check an expense report for reimbursement of "
            "business expenses.",
            ["i need to submit an expense report", "file my expenses for reimbursement"],
        ),
        "startorder": (
            "Start order: the customer wants to place a new order, to buy or purchase products or licenses.",
            ["i want to place an order", "i would like to buy something"],
        ),
        "checkserverstatus": (
            "Check server status: the customer asks whether a server is up, down or running, or reports the "
            "server is not responding.",
            ["is the server down", "check the server status"],
        ),
        "changeorder": (
            "Change order: the customer wants to change or modify an existing order, such as the quantity or items.",
            ["i want to change my order", "modify the quantity on my order"],
        ),
        "providereceipt": (
            "Provide receipt: the customer wants a receipt for a purchase or order, or to send a receipt.",
            ["i need a receipt", "send me the receipt for my order"],
        ),
        "stoporder": (
            "Stop order: the customer wants to stop or cancel an order they placed.",
            ["i want to cancel my order", "stop my order"],
        ),
        "getpromotions": (
            "Get promotions: the customer asks about current promotions, deals, discounts or coupons.",
            ["are there any promotions", "do you have any discounts"],
        ),
    },
}


def multidogo_labels(domain: str, intents: Sequence[str], *, described: bool = True) -> list[str | ClassLabel]:
    """The label set for ``intents`` of ``domain``: described labels, or the bare names."""
    if not described:
        return list(intents)
    known = MULTIDOGO_INTENTS[domain]
    return [ClassLabel(name=i, description=known[i][0], examples=known[i][1]) if i in known else i for i in intents]


def customer_text(conversation: dict[str, Any]) -> str:
    """A normalized conversation's customer turns, one per line."""
    return "\n".join(
        t["text"].strip()
        for t in conversation["turns"]
        if t.get("speaker", "customer") == "customer" and t["text"].strip()
    )


def macro_f1(gold: Sequence[str], predicted: Sequence[str | None], classes: Sequence[str] | None = None) -> float:
    """Mean F1 over ``classes`` (default: every class in gold or predicted); F1 is 0 where undefined."""
    chosen = classes or sorted(set(gold) | {p for p in predicted if p is not None})
    scores = [_per_class(gold, predicted, c)["f1"] for c in chosen]
    return round(sum(scores) / len(scores), 4) if scores else 0.0


def _per_class(gold: Sequence[str], predicted: Sequence[str | None], cls: str) -> dict[str, float]:
    tp = sum(g == cls and p == cls for g, p in zip(gold, predicted, strict=True))
    fp = sum(g != cls and p == cls for g, p in zip(gold, predicted, strict=True))
    fn = sum(g == cls and p != cls for g, p in zip(gold, predicted, strict=True))
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": round(tp / (tp + fn), 4) if tp + fn else 0.0,
        "f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0,
    }


def _accuracy(gold: Sequence[str], predicted: Sequence[str | None]) -> float:
    return round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold), 4) if gold else 0.0


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


# --- MultiDoGO ------------------------------------------------------------------------------------------------------


def multidogo(quick: bool = False) -> dict[str, Any]:
    path = DATASETS / "multidogo" / "conversations.jsonl.gz"
    if not path.is_file():
        return {"skipped": f"{path} not found (the shared datasets sit beside the repository)"}
    started = time.perf_counter()
    rows = list(_read_jsonl(path))
    intents: dict[str, list[str]] = {}
    for r in rows:
        if r["labels"]["primary_intent"]:
            intents.setdefault(r["domain"], [])
            if r["labels"]["primary_intent"] not in intents[r["domain"]]:
                intents[r["domain"]].append(r["labels"]["primary_intent"])
    domains = sorted(intents)
    evaluated: dict[str, list[dict[str, Any]]] = {}
    no_intent: dict[str, list[dict[str, Any]]] = {}
    for domain in domains:
        mine = sorted((r for r in rows if r["domain"] == domain), key=lambda r: r["conversation_id"])
        labelled = [r for r in mine if r["labels"]["primary_intent"]]
        unlabelled = [r for r in mine if not r["labels"]["primary_intent"]]
        evaluated[domain] = labelled[:QUICK_PER_DOMAIN] if quick else labelled
        no_intent[domain] = unlabelled[: QUICK_PER_DOMAIN // 4] if quick else unlabelled
    label_sets = {d: multidogo_labels(d, sorted(intents[d])) for d in domains}
    bare_sets = {d: multidogo_labels(d, sorted(intents[d]), described=False) for d in domains}

    per_domain: dict[str, Any] = {}
    overall: dict[str, list[Any]] = {k: [] for k in ("gold", "forced", "thresholded", "bare", "majority", "split")}
    rejected = accepted_no_intent = 0
    for k, domain in enumerate(domains):
        gold, forced, thresholded, bare, splits = [], [], [], [], []
        other = domains[(k + 1) % len(domains)]
        for r in evaluated[domain]:
            text = customer_text(r)
            ranked = score_labels(text.splitlines(), label_sets[domain])
            best = ranked[0]
            gold.append(f"{domain}/{r['labels']['primary_intent']}")
            forced.append(f"{domain}/{best.name}")
            thresholded.append(f"{domain}/{best.name}" if best.peak >= CLASSIFY_THRESHOLD else None)
            bare.append(f"{domain}/{score_labels(text.splitlines(), bare_sets[domain])[0].name}")
            splits.append(r["source"]["split"])
            rejected += score_labels(text.splitlines(), label_sets[other])[0].peak < CLASSIFY_THRESHOLD
        for r in no_intent[domain]:
            top = score_labels(customer_text(r).splitlines(), label_sets[domain])
            accepted_no_intent += bool(top) and top[0].peak >= CLASSIFY_THRESHOLD
        majority_label = Counter(gold).most_common(1)[0][0]
        majority = [majority_label] * len(gold)
        test = [i for i, s in enumerate(splits) if s == "test"]
        per_domain[domain] = {
            "conversations": len(gold),
            "intents": len(intents[domain]),
            "accuracy": _accuracy(gold, forced),
            "macro_f1": macro_f1(gold, forced),
            "majority_baseline": {
                "label": majority_label.split("/", 1)[1],
                "accuracy": _accuracy(gold, majority),
                "macro_f1": macro_f1(gold, majority),
            },
            "thresholded_accuracy": _accuracy(gold, thresholded),
            "coverage": round(sum(p is not None for p in thresholded) / len(gold), 4),
            "names_only": {"accuracy": _accuracy(gold, bare), "macro_f1": macro_f1(gold, bare)},
            "test_split": {
                "conversations": len(test),
                "accuracy": _accuracy([gold[i] for i in test], [forced[i] for i in test]),
                "macro_f1": macro_f1([gold[i] for i in test], [forced[i] for i in test]),
            },
        }
        for key, values in (
            ("gold", gold),
            ("forced", forced),
            ("thresholded", thresholded),
            ("bare", bare),
            ("majority", majority),
            ("split", splits),
        ):
            overall[key] += values
    gold_all, forced_all = overall["gold"], overall["forced"]
    test = [i for i, s in enumerate(overall["split"]) if s == "test"]
    n = len(gold_all)
    n_no_intent = sum(len(v) for v in no_intent.values())
    return {
        "dataset": str(path.relative_to(DATASETS.parent.parent)),
        "quick": quick,
        "labels": "intent names + descriptions/examples written from the names (MULTIDOGO_INTENTS)",
        "threshold": CLASSIFY_THRESHOLD,
        "overall": {
            "conversations": n,
            "accuracy": _accuracy(gold_all, forced_all),
            "macro_f1": macro_f1(gold_all, forced_all),
            "majority_baseline": {
                "accuracy": _accuracy(gold_all, overall["majority"]),
                "macro_f1": macro_f1(gold_all, overall["majority"], sorted(set(gold_all))),
            },
            "thresholded_accuracy": _accuracy(gold_all, overall["thresholded"]),
            "coverage": round(sum(p is not None for p in overall["thresholded"]) / n, 4),
            "names_only": {
                "accuracy": _accuracy(gold_all, overall["bare"]),
                "macro_f1": macro_f1(gold_all, overall["bare"]),
            },
            "test_split": {
                "conversations": len(test),
                "accuracy": _accuracy([gold_all[i] for i in test], [forced_all[i] for i in test]),
                "macro_f1": macro_f1([gold_all[i] for i in test], [forced_all[i] for i in test]),
            },
        },
        "rejection": {
            "other_domain_labels_rejected": round(rejected / n, 4),
            "no_intent_conversations": n_no_intent,
            "no_intent_rejected": round(1 - accepted_no_intent / n_no_intent, 4) if n_no_intent else None,
        },
        "per_domain": per_domain,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- USS ------------------------------------------------------------------------------------------------------------


def rating_sentiment(ratings: Sequence[float]) -> str:
    """Mean rating rounded half up: 1–2 negative, 3 neutral, 4–5 positive."""
    rounded = math.floor(sum(ratings) / len(ratings) + 0.5)
    return "negative" if rounded <= 2 else "neutral" if rounded == 3 else "positive"


def _label(score: float, negative: float, positive: float) -> str:
    return "positive" if score >= positive else "negative" if score <= negative else "neutral"


def uss(quick: bool = False) -> dict[str, Any]:
    path = DATASETS / "uss_satisfaction" / "conversations.jsonl"
    if not path.is_file():
        return {"skipped": f"{path} not found (USS is read from ../shared only; it may not ship)"}
    started = time.perf_counter()
    rows = sorted(_read_jsonl(path), key=lambda r: r["conversation_id"])
    gold, predicted, scores, parts = [], [], [], []
    disagree = 0
    turn_gold, turn_pred = [], []
    for r in rows:
        label = rating_sentiment(r["labels"]["overall_satisfaction_ratings"])
        disagree += label != r["labels"]["overall_sentiment"]
        text = customer_text(r)
        predicted_label, score = sentiment(text)
        gold.append(label)
        predicted.append(predicted_label)
        scores.append(score)
        parts.append(r["domain"])
        if not quick:
            for t in r["turns"]:
                if t["speaker"] == "customer" and t["text"].strip() and t.get("satisfaction_ratings"):
                    turn_gold.append(rating_sentiment(t["satisfaction_ratings"]))
                    turn_pred.append(sentiment(t["text"])[0])
    neutral = ["neutral"] * len(gold)
    vader_stock = [_label(s, -0.05, 0.05) for s in scores]

    def figures(idx: Sequence[int]) -> dict[str, Any]:
        g, p = [gold[i] for i in idx], [predicted[i] for i in idx]
        return {
            "dialogues": len(idx),
            "macro_f1": macro_f1(g, p, SENTIMENTS),
            "accuracy": _accuracy(g, p),
            "always_neutral_macro_f1": macro_f1(g, ["neutral"] * len(idx), SENTIMENTS),
        }

    choice = {}
    grid = [round(0.05 * k, 2) for k in range(1, 13)]
    for tune in ("sgd", "mwoz"):
        held = "mwoz" if tune == "sgd" else "sgd"
        tune_idx = [i for i, p in enumerate(parts) if p == tune]
        held_idx = [i for i, p in enumerate(parts) if p == held]

        def f1_at(cut: float, idx: Sequence[int]) -> float:
            return macro_f1(
                [gold[i] for i in idx], [_label(scores[i], NEGATIVE_THRESHOLD, cut) for i in idx], SENTIMENTS
            )

        best = max(grid, key=lambda cut: (f1_at(cut, tune_idx), -cut))
        choice[f"tuned_on_{tune}"] = {
            "positive_cut": best,
            f"macro_f1_{tune}": f1_at(best, tune_idx),
            f"macro_f1_held_out_{held}": f1_at(best, held_idx),
        }
    result: dict[str, Any] = {
        "dataset": str(path.relative_to(DATASETS.parent.parent)),
        "mapping": "mean of the OVERALL ratings, rounded half up: 1-2 negative, 3 neutral, 4-5 positive",
        "mapping_disagrees_with_readme_label": disagree,
        "text": "customer (USER) turns, one per line; score = mean VADER compound of the turns",
        "thresholds": {"positive": POSITIVE_THRESHOLD, "negative": NEGATIVE_THRESHOLD},
        "dialogues": len(gold),
        "macro_f1": macro_f1(gold, predicted, SENTIMENTS),
        "accuracy": _accuracy(gold, predicted),
        "always_neutral_baseline": {
            "macro_f1": macro_f1(gold, neutral, SENTIMENTS),
            "accuracy": _accuracy(gold, neutral),
        },
        "vader_stock_thresholds_0_05": {"macro_f1": macro_f1(gold, vader_stock, SENTIMENTS)},
        "per_class": {c: _per_class(gold, predicted, c) for c in SENTIMENTS},
        "gold_distribution": dict(sorted(Counter(gold).items())),
        "predicted_distribution": dict(sorted(Counter(predicted).items())),
        "per_part": {p: figures([i for i, q in enumerate(parts) if q == p]) for p in ("sgd", "mwoz")},
        "threshold_choice": choice,
    }
    if turn_gold:
        result["turn_level"] = {
            "turns": len(turn_gold),
            "macro_f1": macro_f1(turn_gold, turn_pred, SENTIMENTS),
            "always_neutral_macro_f1": macro_f1(turn_gold, ["neutral"] * len(turn_gold), SENTIMENTS),
            "gold_distribution": dict(sorted(Counter(turn_gold).items())),
        }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def run(quick: bool = False) -> dict[str, Any]:
    """Every figure of the free tier; ``{"skipped": reason}`` when the shared datasets are absent."""
    if not DATASETS.is_dir():
        return {"skipped": f"{DATASETS} not found (the shared datasets sit beside the repository)"}
    started = time.perf_counter()
    result: dict[str, Any] = {
        "models": {"sentiment": SENTIMENT_MODEL, "classify": CLASSIFY_MODEL},
        "multidogo_primary_intent": multidogo(quick),
        "uss_dialogue_sentiment": uss(quick),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def summary(result: dict[str, Any]) -> str:
    """Markdown: MultiDoGO intent accuracy / macro-F1 against the majority class, overall and per domain; USS
    sentiment macro-F1 against always-neutral; one line per target."""
    if "skipped" in result:
        return f"Skipped: {result['skipped']}"

    def met(ok: bool) -> str:
        return "met" if ok else "**not met**"

    parts: list[str] = []
    targets: list[str] = []
    intent = result.get("multidogo_primary_intent", {})
    if "skipped" in intent:
        parts += [f"MultiDoGO skipped: {intent['skipped']}", ""]
    elif intent:
        overall, domains = intent["overall"], intent["per_domain"]
        parts += [
            f"**MultiDoGO primary intent** ({overall['conversations']:,} conversations, "
            f"`{result['models']['classify']}`, forced top label; baseline = the domain's majority intent)",
            "",
            "| domain | conversations | intents | accuracy | majority accuracy | macro-F1 | majority macro-F1 "
            "| test-split macro-F1 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, d in [*domains.items(), ("**overall**", overall)]:
            parts.append(
                f"| {name} | {d['conversations']:,} | {d.get('intents', '')} | {d['accuracy']:.3f} | "
                f"{d['majority_baseline']['accuracy']:.3f} | {d['macro_f1']:.3f} | "
                f"{d['majority_baseline']['macro_f1']:.3f} | {d['test_split']['macro_f1']:.3f} |"
            )
        rejection = intent["rejection"]
        no_intent = rejection["no_intent_rejected"]
        parts += [
            "",
            f"Thresholded at {intent['threshold']}: accuracy {overall['thresholded_accuracy']:.3f} at coverage "
            f"{overall['coverage']:.1%}; names only: accuracy {overall['names_only']['accuracy']:.3f}, macro-F1 "
            f"{overall['names_only']['macro_f1']:.3f}; another domain's labels rejected "
            f"{rejection['other_domain_labels_rejected']:.1%}"
            + (f", no-intent conversations rejected {no_intent:.1%}." if no_intent is not None else "."),
            "",
        ]
        f1_below = [n for n, d in domains.items() if d["macro_f1"] <= d["majority_baseline"]["macro_f1"]]
        accuracy_below = [
            f"{n} ({d['accuracy']:.3f} vs {d['majority_baseline']['accuracy']:.3f}, majority intent "
            f"{d['majority_baseline']['accuracy']:.0%} of conversations)"
            for n, d in domains.items()
            if d["accuracy"] <= d["majority_baseline"]["accuracy"]
        ]
        targets += [
            f"- MultiDoGO overall accuracy above the majority baseline: "
            f"{met(overall['accuracy'] > overall['majority_baseline']['accuracy'])} "
            f"({overall['accuracy']:.3f} vs {overall['majority_baseline']['accuracy']:.3f})",
            f"- MultiDoGO overall macro-F1 above the majority baseline: "
            f"{met(overall['macro_f1'] > overall['majority_baseline']['macro_f1'])} "
            f"({overall['macro_f1']:.3f} vs {overall['majority_baseline']['macro_f1']:.3f})",
            f"- MultiDoGO macro-F1 above the majority baseline in every domain: {met(not f1_below)} "
            f"({len(domains) - len(f1_below)}/{len(domains)}" + (f"; not: {', '.join(f1_below)})" if f1_below else ")"),
        ]
        if accuracy_below:  # not a target: where one intent dominates, macro-F1 is the figure that says something
            targets.append(f"- note: accuracy at or below the majority baseline in {', '.join(accuracy_below)}")
    uss_result = result.get("uss_dialogue_sentiment", {})
    if "skipped" in uss_result:
        parts += [f"USS skipped: {uss_result['skipped']}", ""]
    elif uss_result:
        neutral = uss_result["always_neutral_baseline"]
        parts += [
            f"**USS dialogue sentiment** ({uss_result['dialogues']:,} dialogues, `{result['models']['sentiment']}`, "
            f"cuts ±{uss_result['thresholds']['positive']}; baseline = always neutral)",
            "",
            "| part | dialogues | macro-F1 | always-neutral macro-F1 | accuracy |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, p in uss_result["per_part"].items():
            parts.append(
                f"| {name} | {p['dialogues']:,} | {p['macro_f1']:.3f} | {p['always_neutral_macro_f1']:.3f} | "
                f"{p['accuracy']:.3f} |"
            )
        parts += [
            f"| **all** | {uss_result['dialogues']:,} | {uss_result['macro_f1']:.3f} | {neutral['macro_f1']:.3f} | "
            f"{uss_result['accuracy']:.3f} (always neutral {neutral['accuracy']:.3f}) |",
            "",
            "Per class F1: "
            + ", ".join(f"{c} {v['f1']:.3f}" for c, v in uss_result["per_class"].items())
            + f"; VADER's stock ±0.05 cuts: macro-F1 {uss_result['vader_stock_thresholds_0_05']['macro_f1']:.3f}.",
            "",
        ]
        targets.append(
            f"- USS macro-F1 above always-neutral: {met(uss_result['macro_f1'] > neutral['macro_f1'])} "
            f"({uss_result['macro_f1']:.3f} vs {neutral['macro_f1']:.3f})"
        )
    return "\n".join(parts + targets)


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv[1:]), indent=2))
