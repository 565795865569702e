"""Label texts for the free tier's intent benchmark: three sets, so the headline does not rest on one hand's
wording. ``OWN`` are the project's descriptions (written from the intent names only); ``TERSE`` are one sentence
and two examples per intent, written from the names alone and never from the conversations; bare names need no
text."""

from __future__ import annotations

# Written from the intent names only (what such a request means in that business), not from the conversations.
OWN: dict[str, dict[str, tuple[str, list[str]]]] = {
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

# Terse: one sentence and two examples per intent, written from the intent names alone, without looking at any
# conversation, in the words a support lead might jot down (a different hand and style from the ones above).
TERSE: dict[str, dict[str, tuple[str, list[str]]]] = {
    "airline": {
        "bookflight": ("Customer wants a new flight reservation.", ["book me a flight", "need tickets to boston"]),
        "changeseatassignment": ("Customer wants a different seat.", ["switch my seat", "can i sit by the window"]),
        "getseatinfo": ("Customer asks about the seat they have.", ["where am i sitting", "tell me my seat"]),
        "getboardingpass": ("Customer needs a boarding pass.", ["email my boarding pass", "print boarding pass"]),
    },
    "fastfood": {
        "orderpizzaintent": ("Customer orders a pizza.", ["one pepperoni pizza", "medium pizza with mushrooms"]),
        "orderburgerintent": ("Customer orders a burger.", ["a double cheeseburger", "two burgers please"]),
        "orderdrinkintent": ("Customer orders something to drink.", ["a diet coke", "add a lemonade"]),
        "ordersaladintent": ("Customer orders a salad.", ["a chicken caesar salad", "small garden salad"]),
        "orderdessertintent": ("Customer orders a dessert.", ["a chocolate brownie", "add an ice cream sundae"]),
        "ordersideintent": ("Customer orders a side.", ["large fries", "a side of onion rings"]),
        "orderbreakfastintent": ("Customer orders breakfast.", ["egg and bacon sandwich", "pancakes please"]),
    },
    "finance": {
        "reportlostcard": ("Card lost or stolen.", ["i cannot find my debit card", "someone stole my card"]),
        "replacecard": ("Customer needs a new card to replace one.", ["my card is broken", "send a replacement card"]),
        "updateaddress": ("Customer moved and gives a new address.", ["new address please", "i moved last month"]),
        "checkbalance": ("Customer asks how much money is in an account.", ["how much do i have", "savings balance"]),
        "transfermoney": ("Customer moves money between accounts.", ["send 200 to checking", "make a transfer"]),
        "disputecharge": ("Customer contests a charge.", ["i did not buy this", "wrong charge on my statement"]),
        "closeaccount": ("Customer wants to shut an account.", ["close my checking", "i want to end my account"]),
        "openaccount": ("Customer wants a new account.", ["open a savings account", "start a checking account"]),
        "getroutingnumber": ("Customer asks for a routing number.", ["routing number please", "aba number"]),
        "checkoffereligibility": (
            "Customer asks if they qualify for an offer.",
            ["can i get this card", "am i eligible"],
        ),
        "orderchecks": ("Customer wants paper checks.", ["order a checkbook", "i am out of checks"]),
    },
    "insurance": {
        "getproofofinsurance": ("Customer needs proof of coverage.", ["send my insurance card", "proof for my car"]),
        "checkclaimstatus": ("Customer asks where a claim stands.", ["any news on my claim", "claim update"]),
        "reportbrokenphone": ("Customer's phone is damaged.", ["my screen is cracked", "phone fell in water"]),
    },
    "media": {
        "startserviceintent": ("Customer signs up for a service.", ["i want cable", "set up internet at my place"]),
        "getinformationintent": (
            "Customer asks general questions.",
            ["what plans do you have", "tell me about prices"],
        ),
        "viewbillsintent": ("Customer asks about their bill.", ["what do i owe", "show my last statement"]),
        "transferserviceintent": ("Customer moves service elsewhere.", ["i am moving house", "move my internet"]),
        "upgradeserviceintent": ("Customer wants a better plan.", ["faster internet", "upgrade my package"]),
        "cancelserviceintent": ("Customer ends a service.", ["cancel my cable", "i want to stop service"]),
        "viewdatausageintent": ("Customer asks about data used.", ["how much data is left", "my usage this month"]),
        "getchannelpackageintent": ("Customer asks about TV channels.", ["add sports channels", "which channels"]),
        "updateaccountinfo": ("Customer changes account details.", ["new phone number", "change my email"]),
    },
    "software": {
        "reportbrokensoftware": ("Software is not working.", ["the app crashes", "error when i open it"]),
        "softwareupdate": ("Customer wants a newer version.", ["how do i update", "install the new version"]),
        "expensereport": ("Customer handles an expense report.", ["submit my expenses", "expense claim"]),
        "startorder": ("Customer places an order.", ["i want to buy licenses", "new order"]),
        "checkserverstatus": ("Customer asks if the server is up.", ["server is down", "is the server running"]),
        "changeorder": ("Customer changes an order.", ["change the quantity", "edit my order"]),
        "providereceipt": ("Customer wants a receipt.", ["send me a receipt", "i need proof of purchase"]),
        "stoporder": ("Customer cancels an order.", ["cancel the order", "stop my purchase"]),
        "getpromotions": ("Customer asks about deals.", ["any discounts", "current offers"]),
    },
}

LABEL_SETS = ("names", "own", "terse")
