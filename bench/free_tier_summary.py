"""The free-tier benchmark's Markdown summary: the cross-validated, worst-of-three-label-sets figures, and one
line per target of issue 11."""

from __future__ import annotations

from typing import Any

INTENT_TARGET, INTENT_FLOOR = 0.85, 0.80
SENTIMENT_TARGET, SENTIMENT_FLOOR, NEGATIVE_RECALL = 2.0, 1.5, 0.5
EXTRACTION_PRECISION = 0.9


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _f(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _intent(intent: dict[str, Any], parts: list[str], targets: list[str]) -> None:
    overall, domains = intent["overall"], intent["per_domain"]
    parts += [
        f"**MultiDoGO primary intent** ({intent['conversations']:,} conversations; leave-one-domain-out: each "
        "domain scored with the knobs chosen on the other five; three label sets)",
        "",
        "| domain | conversations | intents | majority | names | own | terse | worst | decay | kinds (levels, weight) "
        "| threshold |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, d in domains.items():
        parts.append(
            f"| {name} | {d['conversations']:,} | {d['intents']} | {d['majority_baseline']['accuracy']:.3f} | "
            f"{d['names']['accuracy']:.3f} | {d['own']['accuracy']:.3f} | {d['terse']['accuracy']:.3f} | "
            f"**{d['worst_accuracy']:.3f}** | {d['decay_chosen_on_other_domains']} | "
            f"{d['hypernym_levels_chosen_on_other_domains']}, {d['kinds_weight_chosen_on_other_domains']} | "
            f"{d['threshold_chosen_on_other_domains']} |"
        )
    parts.append(
        f"| **overall** | {intent['conversations']:,} |  |  | {overall['names']['accuracy']:.3f} | "
        f"{overall['own']['accuracy']:.3f} | {overall['terse']['accuracy']:.3f} | **{intent['worst_accuracy']:.3f}** "
        "|  |  |  |"
    )
    knobs = intent["knobs"]
    chosen, shipped = knobs["chosen_on_all_domains"], knobs["shipped"]
    low, high = intent["per_domain_worst_accuracy_range"]
    parts += [
        "",
        "Accuracy of the top label. Macro-F1 (names / own / terse): "
        + " / ".join(f"{overall[k]['macro_f1']:.3f}" for k in ("names", "own", "terse"))
        + f". What the product answers (the top label where its best line reaches {shipped['threshold']}, otherwise "
        "not applicable, a wrong answer here): applicable "
        + " / ".join(f"{overall[k]['applicable_share']:.3f}" for k in ("names", "own", "terse"))
        + ", accuracy of those "
        + " / ".join(f"{overall[k]['accuracy_of_applicable']:.3f}" for k in ("names", "own", "terse"))
        + "; confidence AUROC (right answers above wrong ones) over every answer "
        + " / ".join(_f(overall[k]["confidence_auroc"]) for k in ("names", "own", "terse"))
        + ", over the applicable ones "
        + " / ".join(_f(overall[k]["confidence_auroc_of_applicable"]) for k in ("names", "own", "terse"))
        + f". Per-domain worst-of-three range {low:.3f}–{high:.3f}. Knobs chosen on all six domains: decay "
        f"{chosen['position_decay']}, hypernym levels {chosen['hypernym_levels']} at weight {chosen['kinds_weight']}, "
        f"threshold {chosen['threshold']} (shipped: {shipped['position_decay']}, {shipped['hypernym_levels']} at "
        f"{shipped['kinds_weight']}, {shipped['threshold']}).",
        "",
    ]
    worst = intent["worst_accuracy"]
    targets.append(
        f"- intent accuracy, worst of three label sets, cross-validated ≥ {INTENT_TARGET} (floor {INTENT_FLOOR}): "
        f"{_met(worst >= INTENT_TARGET)} / floor {_met(worst >= INTENT_FLOOR)} "
        f"({worst:.3f}, {intent['worst_label_set']})"
    )


def _sentiment(uss: dict[str, Any], shares: dict[str, Any], parts: list[str], targets: list[str]) -> None:
    parts += [
        f"**USS dialogue sentiment** ({uss['all']['dialogues']:,} dialogues; cuts {uss['thresholds']['negative']} / "
        f"+{uss['thresholds']['positive']} set by reasoning, nothing chosen on USS; baseline = always neutral)",
        "",
        "| part | dialogues | macro-F1 | always neutral | ratio | negative recall | negative precision | positive F1 "
        "| confidence AUROC |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, p in [*uss["per_part"].items(), ("**all**", uss["all"])]:
        neg, pos = p["per_class"]["negative"], p["per_class"]["positive"]
        parts.append(
            f"| {name} | {p['dialogues']:,} | {p['macro_f1']:.3f} | {p['always_neutral_macro_f1']:.3f} | "
            f"{_f(p['ratio_to_always_neutral'])}× | {neg['recall']:.3f} | {neg['precision']:.3f} | {pos['f1']:.3f} | "
            f"{_f(p['confidence_auroc'])} |"
        )
    parts += ["", f"Predicted: {uss['all']['predicted_distribution']}; gold: {uss['all']['gold_distribution']}."]
    if "wording_separates_negatives" in uss:
        w = uss["wording_separates_negatives"]
        cuts = "; ".join(
            f"VADER ≤ {cut}: {h['negatives']} of {w['negatives']} negatives and {h['others']} of {w['others']} others"
            for cut, h in w["a_turn_at_or_under"].items()
        )
        parts.append(
            "How far the customer's words alone can go: they rank negative dialogues above the rest with AUROC "
            f"{_f(w['auroc_dialogue_score'])} (dialogue score) and {_f(w['auroc_lowest_turn'])} (lowest turn); a "
            f"customer turn at {cuts}."
        )
    if "ceilings" in uss:
        _ceilings(uss["ceilings"], parts)
    if "shares" in shares:
        parts.append(
            f"On {shares['conversations']:,} MultiDoGO chats (unlabelled) the free tier says {shares['shares']}."
        )
    parts.append("")
    ratio = uss["all"]["ratio_to_always_neutral"] or 0.0
    recall = uss["all"]["per_class"]["negative"]["recall"]
    human = uss.get("ceilings", {}).get("raters", {}).get("one_rater")
    ceiling = (
        f"; one human rater against the others: {human['ratio_to_always_neutral']:.2f}×, negative recall "
        f"{human['negative_recall']:.3f}"
        if human
        else ""
    )
    targets += [
        f"- sentiment macro-F1 ≥ {SENTIMENT_TARGET}× always-neutral (floor {SENTIMENT_FLOOR}×): "
        f"{_met(ratio >= SENTIMENT_TARGET)} / floor {_met(ratio >= SENTIMENT_FLOOR)} ({ratio:.2f}×{ceiling})",
        f"- sentiment negative recall > {NEGATIVE_RECALL}: {_met(recall > NEGATIVE_RECALL)} ({recall:.3f})",
    ]


def _ceilings(ceilings: dict[str, Any], parts: list[str]) -> None:
    """The USS ceilings (``bench/free_tier_ceiling.py``): one rater against the others, a model trained on USS."""
    raters, trained = ceilings["raters"], ceilings["trained_on_uss"]
    one, free = raters["one_rater"], raters["free_tier"]
    parts += [
        "",
        f"Ceilings. Against the rounded mean of the other raters ({raters['dialogues']:,} dialogues, one rater held "
        f"out at random, mean of {raters['draws']} draws):",
        "",
        "| who | macro-F1 | ratio to always neutral (range) | negative recall | negative precision | negative F1 | "
        "neutral F1 | positive F1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for who, f in (("one human rater", one), ("the free tier", free)):
        spread = f"{f['ratio_range'][0]:.2f}–{f['ratio_range'][1]:.2f}"
        parts.append(
            f"| {who} | {f['macro_f1']:.3f} | {f['ratio_to_always_neutral']:.2f}× ({spread}) | "
            f"{f['negative_recall']:.3f} | {f['negative_precision']:.3f} | {f['negative_f1']:.3f} | "
            f"{f['neutral_f1']:.3f} | {f['positive_f1']:.3f} |"
        )
    half, free_half = trained["half_the_negatives"], ceilings["free_tier_half_the_negatives"]
    parts += [
        "",
        f"A model trained on USS itself ({trained['model']}; a diagnostic that never ships, USS may not), against "
        f"every rater's mean like the first table: macro-F1 {trained['macro_f1']:.3f} = "
        f"{trained['ratio_to_always_neutral']:.2f}× always neutral, negative recall {trained['negative_recall']:.3f}, "
        f"positive F1 {trained['positive_f1']:.3f}. Catching half the negatives, the cut chosen after seeing the "
        f"answers: the trained model calls {half['called_negative']} dialogues negative for {half['caught']} of "
        f"{half['negatives']} (precision {half['precision']:.3f}; negative AUROC {_f(trained['negative_auroc'])}); "
        f"the free tier's dialogue score {free_half['called_negative']} for {free_half['caught']} (precision "
        f"{free_half['precision']:.3f}).",
    ]


def _extraction(extraction: dict[str, Any], parts: list[str], targets: list[str]) -> None:
    parts += [
        f"**Extraction against MultiDoGO slots** ({extraction['conversations']:,} conversations, one field per type)",
        "",
        "| type | reported | precision | recall | conversations with a slot |",
        "|---|---:|---:|---:|---:|",
    ]
    for kind, f in extraction["per_type"].items():
        parts.append(
            f"| {kind} | {f['reported']:,} | {_f(f['precision'])} | {_f(f['recall'])} | "
            f"{f['conversations_with_slot']:,} |"
        )
    dates = extraction["per_type"]["date"]
    parts += [
        "",
        f"Dates said with digits or a month name: precision {_f(dates.get('calendar_precision'))}; "
        f'{dates.get("relative_reported", 0)} reported dates were relative days ("yesterday", "two days ago"), '
        "which MultiDoGO's annotators almost never tag (17 of 1,207 date slots).",
    ]
    if dates.get("audited_precision") is not None:
        low, high = dates.get("audited_interval") or (None, None)
        parts.append(
            f"Audited (a date right when it overlaps a slot or a hand audit of the reports that overlap none judged "
            f"it right; {dates.get('audit_covered', 0)} of {dates.get('unmatched', 0)} unmatched reports read): "
            f"precision {_f(dates['audited_precision'])} [{_f(low)}, {_f(high)}], n {dates['reported']:,}."
        )
    parts.append("")
    for kind, f in extraction["per_type"].items():
        precision = f["precision"] or 0.0
        targets.append(
            f"- extraction precision ≥ {EXTRACTION_PRECISION} for {kind}: {_met(precision >= EXTRACTION_PRECISION)} "
            f"({precision:.3f}, recall {_f(f['recall'])}"
            + (f"; audited {_f(f['audited_precision'])}" if f.get("audited_precision") is not None else "")
            + ")"
        )


def summary(result: dict[str, Any]) -> str:
    """Markdown: intent per label set and worst of three (cross-validated), USS sentiment against
    always-neutral, extraction per field type, speed; one line per target."""
    if "skipped" in result:
        return f"Skipped: {result['skipped']}"
    parts: list[str] = [f"Models: {', '.join(f'`{m}`' for m in result['models'].values())}.", ""]
    targets: list[str] = []
    intent = result.get("multidogo_primary_intent", {})
    if "skipped" in intent:
        parts += [f"MultiDoGO skipped: {intent['skipped']}", ""]
    elif intent:
        _intent(intent, parts, targets)
    uss = result.get("uss_dialogue_sentiment", {})
    if "skipped" in uss:
        parts += [f"USS skipped: {uss['skipped']}", ""]
    elif uss:
        _sentiment(uss, result.get("multidogo_sentiment_shares", {}), parts, targets)
    extraction = result.get("multidogo_extraction", {})
    if extraction and "skipped" not in extraction:
        _extraction(extraction, parts, targets)
    speed = result.get("speed", {})
    if "ms_per_conversation" in speed:
        parts += [
            f"Speed: {speed['ms_per_conversation']} ms per conversation for sentiment, classification and "
            f"extraction together ({speed['conversations']} MultiDoGO conversations, one process).",
            "",
        ]
    return "\n".join(parts + targets)
