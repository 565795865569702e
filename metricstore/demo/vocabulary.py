"""The demo's vocabulary: its domains (brand, agent lines, tools), services, intents and slots as said, agents and
the names and numbers contacts are drawn from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

_DIALOGUE_ACTS: Final = frozenset(
    {
        "openinggreeting",
        "closinggreeting",
        "thankyou",
        "confirmation",
        "rejection",
        "contentonly",
        "outofdomain",
    }
)


@dataclass(frozen=True)
class _Domain:
    brand: str
    service_id: str
    greeting: tuple[str, ...]  # {brand}, {agent}
    clarify: tuple[str, ...]  # {phrase}
    confirm: tuple[str, ...]
    closing: tuple[str, ...]  # {brand}
    tools: tuple[str, ...]


_DOMAINS: Final[dict[str, _Domain]] = {
    "airline": _Domain(
        brand="SkyWays Air",
        service_id="svc_sales",
        greeting=(
            "Thank you for calling {brand}, this is {agent}. How can I help you today?",
            "Hello and welcome to {brand}. My name is {agent}, what can I do for you?",
        ),
        clarify=("Sure, I can help you with {phrase}.", "Of course, let me look into {phrase} for you."),
        confirm=(
            "I have pulled up your reservation and made the change. Does that look right to you?",
            "Your itinerary is updated. Shall I send the confirmation to your email?",
        ),
        closing=("Thank you for flying with {brand}. Have a great trip!", "Enjoy your flight with {brand}!"),
        tools=("lookup_booking", "search_flights", "update_seat", "issue_boarding_pass"),
    ),
    "fastfood": _Domain(
        brand="Crust & Bun",
        service_id="svc_sales",
        greeting=(
            "Hi, thanks for choosing {brand}! This is {agent}. What can I get started for you?",
            "Welcome to {brand}, {agent} speaking. Are you ordering today?",
        ),
        clarify=("Great choice, I can set up {phrase}.", "Sure thing, let me start {phrase} for you."),
        confirm=(
            "I have your order in the system. Does everything look correct?",
            "Let me read that back to you. Is the order right?",
        ),
        closing=("Thanks for ordering from {brand}. Enjoy your meal!", "Your order is on its way. Enjoy!"),
        tools=("lookup_menu", "create_order", "apply_coupon", "estimate_delivery"),
    ),
    "finance": _Domain(
        brand="Summit Bank",
        service_id="svc_billing",
        greeting=(
            "Thank you for contacting {brand}, this is {agent}. How may I help you?",
            "Good day, you have reached {brand}. My name is {agent}, how can I assist?",
        ),
        clarify=("I can certainly help with {phrase}.", "No problem, I will help you with {phrase}."),
        confirm=(
            "I have verified your identity and processed the request. Is that what you wanted?",
            "That is done on your account. Is that correct?",
        ),
        closing=(
            "Thank you for banking with {brand}. Have a good day.",
            "Thanks for contacting {brand}. Take care.",
        ),
        tools=("verify_identity", "get_balance", "block_card", "create_dispute", "transfer_funds"),
    ),
    "insurance": _Domain(
        brand="ShieldSure Insurance",
        service_id="svc_support",
        greeting=(
            "Thank you for calling {brand}, my name is {agent}. How can I help?",
            "Hello, this is {agent} with {brand}. What can I do for you today?",
        ),
        clarify=("I can help you with {phrase}.", "Let me check on {phrase} for you."),
        confirm=(
            "I found your policy and updated the request. Does that sound right?",
            "The document is ready. Would you like it sent to the email on file?",
        ),
        closing=(
            "Thank you for being a {brand} customer. Goodbye.",
            "Thanks for calling {brand}. Stay safe.",
        ),
        tools=("lookup_policy", "get_claim_status", "send_proof_of_insurance", "open_claim"),
    ),
    "media": _Domain(
        brand="StreamNet",
        service_id="svc_billing",
        greeting=(
            "Thanks for contacting {brand}, this is {agent}. How can I help you today?",
            "Hi, you have reached {brand}. I am {agent}, what can I do for you?",
        ),
        clarify=("I would be happy to help with {phrase}.", "Sure, let me pull up {phrase} for you."),
        confirm=(
            "I have set that up on your account. Does everything look good?",
            "Your service details are updated. Is that what you were looking for?",
        ),
        closing=(
            "Thanks for choosing {brand}. Enjoy your service!",
            "Thank you for contacting {brand}. Bye!",
        ),
        tools=("lookup_account", "check_service_availability", "get_bill", "update_plan"),
    ),
    "software": _Domain(
        brand="Cloudly Software",
        service_id="svc_support",
        greeting=(
            "Thank you for contacting {brand} support, this is {agent}. What seems to be the problem?",
            "Hi, {agent} from {brand} here. How can I help?",
        ),
        clarify=("I can help you with {phrase}.", "Let me take a look at {phrase}."),
        confirm=(
            "I have applied the fix on our side. Can you confirm it works now?",
            "The request is logged and processed. Does that cover it?",
        ),
        closing=(
            "Thank you for contacting {brand} support. Have a great day!",
            "Glad I could help. Goodbye!",
        ),
        tools=("check_server_status", "create_support_ticket", "lookup_order", "push_update"),
    ),
}
_SERVICE_WEIGHTS: Final = (("svc_support", 0.45), ("svc_sales", 0.30), ("svc_billing", 0.25))

_INTENT_PHRASES: Final[dict[str, str]] = {
    "bookflight": "booking a flight",
    "changeseatassignment": "changing a seat assignment",
    "getseatinfo": "seat information",
    "getboardingpass": "getting a boarding pass",
    "orderpizzaintent": "a pizza order",
    "orderburgerintent": "a burger order",
    "orderdrinkintent": "a drink order",
    "ordersaladintent": "a salad order",
    "orderdessertintent": "a dessert order",
    "ordersideintent": "a side order",
    "orderbreakfastintent": "a breakfast order",
    "reportlostcard": "reporting a lost card",
    "replacecard": "replacing a card",
    "updateaddress": "updating an address",
    "checkbalance": "checking an account balance",
    "transfermoney": "a money transfer",
    "disputecharge": "disputing a charge",
    "closeaccount": "closing an account",
    "openaccount": "opening an account",
    "getroutingnumber": "getting a routing number",
    "checkoffereligibility": "checking offer eligibility",
    "orderchecks": "ordering checks",
    "getproofofinsurance": "proof of insurance",
    "checkclaimstatus": "checking a claim status",
    "reportbrokenphone": "reporting a broken phone",
    "startserviceintent": "starting a new service",
    "getinformationintent": "service information",
    "viewbillsintent": "viewing bills",
    "transferserviceintent": "transferring a service",
    "upgradeserviceintent": "upgrading a service",
    "cancelserviceintent": "cancelling a service",
    "viewdatausageintent": "checking data usage",
    "getchannelpackageintent": "channel packages",
    "updateaccountinfo": "updating account information",
    "reportbrokensoftware": "reporting broken software",
    "softwareupdate": "a software update",
    "expensereport": "an expense report",
    "startorder": "starting an order",
    "checkserverstatus": "checking server status",
    "changeorder": "changing an order",
    "providereceipt": "providing a receipt",
    "stoporder": "stopping an order",
    "getpromotions": "current promotions",
}
_SLOT_NAMES: Final[dict[str, str]] = {
    "phonenumber": "phone number",
    "ssn": "social security number",
    "claimid": "claim ID",
    "policyid": "policy ID",
    "account_id": "account ID",
    "datacategoryvalues": "details",
    "current_zipcode": "current ZIP code",
    "new_zipcode": "new ZIP code",
    "transferamount": "transfer amount",
    "lastuseddate": "date you last used it",
    "lastusedtime": "time you last used it",
}
_PERSONAL_SLOTS: Final = frozenset(
    {
        "name",
        "email_address",
        "phone_number",
        "phonenumber",
        "address",
        "ssn",
        "username",
        "password",
        "account_number",
        "card_number",
        "account_id",
        "policyid",
        "claimid",
        "booking_confirmation_number",
        "current_city",
        "current_zipcode",
    }
)
_AGENTS: Final = (
    ("agt_01", "Alex", 6.0),
    ("agt_02", "Priya", 4.0),
    ("agt_03", "Jordan", 3.0),
    ("agt_04", "Maya", 2.0),
    ("agt_05", "Sam", 1.0),
    ("agt_06", "Elena", 0.0),
    ("agt_07", "Chris", 0.0),
    ("agt_08", "Fatima", -1.0),
    ("agt_09", "Lucas", -2.0),
    ("agt_10", "Hannah", -3.0),
    ("agt_11", "Omar", -5.0),
    ("agt_12", "Grace", -8.0),
)  # (agentId, first name, skill: shifts sentiment and quality)
_FIRST_NAMES: Final = (
    "James", "Maria", "Wei", "Aisha", "Carlos", "Emma", "Noah", "Olivia", "Liam", "Sofia", "Mateo",
    "Chloe", "Ethan", "Zara", "Lucas", "Amara", "Daniel", "Yuki", "Ravi", "Fatou", "Ivan", "Leila",
    "Tom", "Nora", "Kofi", "Ines", "Diego", "Hana", "Sean", "Mei",
)  # fmt: skip
_LAST_NAMES: Final = (
    "Smith", "Garcia", "Chen", "Okafor", "Johnson", "Müller", "Rossi", "Kim", "Patel", "Nguyen",
    "Brown", "Silva", "Dubois", "Kowalski", "Haddad", "Andersen", "Lopez", "Tanaka", "Ahmed", "Novak",
    "Walker", "Costa", "Murphy", "Singh", "Cohen",
)  # fmt: skip
_AREA_CODES: Final = ("212", "312", "415", "617", "206", "512", "303", "404", "305", "702")
_CONTACT_POOL_SIZE: Final = 2000


@dataclass(frozen=True)
class _Contact:
    contact_id: str
    name: str
    phone: str


def _slot_name(slot_type: str) -> str:
    return _SLOT_NAMES.get(slot_type, slot_type.replace("_", " "))


def _phrase(intent: str) -> str:
    return _INTENT_PHRASES.get(intent, "a general inquiry")
