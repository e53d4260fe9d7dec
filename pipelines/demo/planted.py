"""Planted people: a handful of hand-made customers whose segment and value are known,
appended to the generated exports so tests can find them (issue #3). Their expected
outcomes go to data/demo_truth/planted.csv, never into the exports.

Constant size (a few dozen rows), so plain Python is fine here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl


@dataclass
class Planted:
    key: str
    first: str
    last: str
    email: str
    expected_segment: str
    expected_class: str  # "" when the class is not part of the scenario
    story: str
    orders: list[tuple[int, str, str, float, int]] = field(default_factory=list)
    # (days before end, sku, product, unit price, quantity)
    tickets: list[tuple[int, str, str]] = field(default_factory=list)  # (days, category, prio)
    nps: list[tuple[int, int, str]] = field(default_factory=list)  # (days, score, comment)
    company: tuple[str, str, int, float] | None = None  # name, industry, employees, open deal
    evangelist: bool = False
    newsletter: str = ""  # "", "subscribed" or "unsubscribed" (Mailchimp audience)
    expected_action: str = ""  # next-best action the tests expect ("" = not asserted)


def _every(n: int, step: int, last: int, sku: str, name: str, price: float, qty: int = 1):
    return [(last + i * step, sku, name, price, qty) for i in range(n)]


PLANTED = [
    Planted("fan", "Clara", "Begeistert", "clara.begeistert@posteo.de", "Fans", "",
            "buys every 45 days, latest 10 days ago, NPS 10",
            orders=_every(8, 45, 10, "KAF-004", "Single Origin Äthiopien 250 g", 14.90, 8),
            nps=[(30, 10, "Einfach der beste Kaffee – danke!")]),
    Planted("heavy", "Heinz", "Vielkauf", "heinz.vielkauf@gmx.de", "Heavy users", "",
            "14 orders every 20 days, latest 3 days ago, never gives feedback",
            orders=_every(14, 20, 3, "KAF-001", "Espresso Bohnen 1 kg", 24.90, 2)),
    Planted("steady_falling", "Bernd", "Bestand", "bernd.bestand@gmx.de", "Heavy users", "B",
            "a good customer (8 orders of ~100 €) whose orders are slowing down",
            orders=_every(4, 40, 60, "KAF-001", "Espresso Bohnen 1 kg", 24.90, 4)
            + _every(4, 30, 200, "KAF-001", "Espresso Bohnen 1 kg", 24.90, 4)),
    Planted("annoyed", "Anja", "Ärger", "anja.aerger@web.de", "Annoyed", "",
            "still buys monthly, but two complaints in the last two months and NPS 4",
            orders=_every(6, 30, 15, "KAF-002", "Filterkaffee Hausmischung 500 g", 12.90, 3),
            tickets=[(30, "Complaint", "High"), (60, "Complaint", "Medium")],
            nps=[(40, 4, "Zweimal falsche Ware – ärgerlich.")]),
    Planted("formerly_loyal", "Fritz", "Früher", "fritz.frueher@t-online.de", "Formerly loyal",
            "C", "10 orders every 25 days, then nothing for 400 days",
            orders=_every(10, 25, 400, "TEE-001", "Grüner Tee Sencha 100 g", 9.90, 3)),
    Planted("outraged", "Olga", "Empört", "olga.empoert@gmail.com", "Outraged", "",
            "3 orders, a complaint and NPS 1, then gone for 500 days",
            orders=_every(3, 40, 500, "ZUB-002", "Milchaufschäumer", 49.00),
            tickets=[(505, "Complaint", "Urgent")],
            nps=[(495, 1, "Nie wieder. Gerät defekt, Service unverschämt.")]),
    Planted("new", "Nina", "Neu", "nina.neu@web.de", "New", "",
            "a single first order 12 days ago",
            orders=[(12, "KAF-003", "Entkoffeiniert 250 g", 8.50, 2)],
            expected_action="welcome_package"),
    Planted("valuable_going_quiet", "Vera", "Verstummt", "vera.verstummt@posteo.de",
            "Formerly loyal", "B",
            "10 orders of ~150 € every 30 days, then silence for 200 days",
            orders=_every(10, 30, 200, "KAF-001", "Espresso Bohnen 1 kg", 24.90, 6),
            expected_action="personal_call"),
    Planted("unsubscribed_buyer", "Ulla", "Abgemeldet", "ulla.abgemeldet@web.de",
            "Heavy users", "",
            "buys monthly and ticked 'accepts marketing', but unsubscribed from the newsletter",
            orders=_every(7, 30, 8, "TEE-003", "Chai Gewürzmischung", 11.50, 4),
            newsletter="unsubscribed"),
    Planted("key_account_service", "Gerd", "Großkunde", "gerd.grosskunde@grossabnehmer.de",
            "Annoyed", "E",
            "the biggest account by revenue (machines), but 60 urgent tickets eat the margin",
            orders=_every(20, 30, 5, "MAS-002", "Vollautomat Comfort", 899.00),
            tickets=[(3 + 10 * i, "Product issue", "Urgent") for i in range(60)],
            company=("Großabnehmer Handels GmbH", "Retail", 40, 0.0)),
    Planted("small_profitable", "Paula", "Profitabel", "paula.profitabel@posteo.de",
            "Heavy users", "A",
            "a smaller customer: 12 coffee orders, no service effort, pays reliably",
            orders=_every(12, 28, 6, "KAF-004", "Single Origin Äthiopien 250 g", 14.90, 5)),
    Planted("low_value_high_potential", "Lars", "Potenzial", "lars.potenzial@softwarehaus-nord.de",
            "Other", "D",
            "one small order 200 days ago; software company, 300 staff, 50.000 € open deal",
            orders=[(200, "ZUB-005", "Filterpapier (100 Stück)", 4.50, 3)],
            company=("Softwarehaus Nord GmbH", "Computer Software", 300, 50000.0)),
]


def planted_frames(start: dt.datetime, end: dt.datetime) -> dict[str, pl.DataFrame]:
    """Rows in the exports' own column names (all text), to append to each export."""
    shop, contacts, companies, deals, tickets, feedback, truth = [], [], [], [], [], [], []
    members: dict[str, list[dict]] = {"subscribed": [], "unsubscribed": []}
    order_no, ticket_no = 900_001, 0
    for i, p in enumerate(PLANTED):
        contact_id = str(880_000_000 + i)
        company_id = str(990_000_000 + i) if p.company else None
        for days, sku, name, price, qty in sorted(p.orders, reverse=True):
            at = end - dt.timedelta(days=days, hours=9)
            tz = "+0200" if 4 <= at.month <= 10 else "+0100"
            items = round(price * qty, 2)
            shipping = 0.0 if items >= 50 else 4.90
            total = round(items + shipping, 2)
            shop.append({
                "Name": f"#{order_no}", "Email": p.email, "Financial Status": "paid",
                "Paid at": f"{at + dt.timedelta(minutes=2):%Y-%m-%d %H:%M:%S} {tz}",
                "Fulfillment Status": "fulfilled", "Accepts Marketing": "yes",
                "Currency": "EUR", "Subtotal": f"{items:.2f}", "Shipping": f"{shipping:.2f}",
                "Taxes": f"{total * 19 / 119:.2f}", "Total": f"{total:.2f}",
                "Discount Amount": "0.00", "Created at": f"{at:%Y-%m-%d %H:%M:%S} {tz}",
                "Lineitem quantity": str(qty), "Lineitem name": name,
                "Lineitem price": f"{price:.2f}", "Lineitem sku": sku,
                "Billing Name": f"{p.first} {p.last}",
                "Billing Company": p.company[0] if p.company else None,
                "Billing Country": "DE", "Payment Method": "Shopify Payments",
                "Refunded Amount": "0.00", "Vendor": "Kaffeekontor",
                "Outstanding Balance": "0.00", "Id": str(6_000_000_000_000 + order_no),
                "Source": "web",
            })
            order_no += 1
        first_order = min((d for d, *_ in p.orders), default=30)
        contacts.append({
            "Record ID": contact_id, "First Name": p.first, "Last Name": p.last,
            "Email": p.email,
            "Lifecycle Stage": "Evangelist" if p.evangelist else (
                "Customer" if p.orders else "Lead"),
            "Create Date": f"{end - dt.timedelta(days=first_order + 3):%Y-%m-%d %H:%M}",
            "Original Source": "Direct Traffic",
            "Associated Company": p.company[0] if p.company else None,
            "Associated Company IDs": company_id,
        })
        if p.company:
            cname, industry, employees, open_deal = p.company
            companies.append({
                "Record ID": company_id, "Company name": cname, "Industry": industry,
                "Number of Employees": str(employees), "Country/Region": "Germany",
                "City": "Hamburg", "Lifecycle Stage": "Customer",
                "Create Date": f"{start:%Y-%m-%d %H:%M}",
            })
            if open_deal:
                deals.append({
                    "Record ID": str(77_000_000 + i), "Deal Name": f"{cname} – Büroversorgung",
                    "Amount": f"{open_deal:,.2f}".replace(",", "X").replace(".", ",")
                    .replace("X", "."),
                    "Close Date": f"{end + dt.timedelta(days=60):%d.%m.%Y}",
                    "Deal Stage": "Contract Sent", "Pipeline": "Sales Pipeline",
                    "Create Date": f"{end - dt.timedelta(days=20):%d.%m.%Y}",
                    "Associated Company IDs": company_id, "Associated Contact IDs": contact_id,
                })
        for days, category, prio in p.tickets:
            ticket_no += 1
            tickets.append({
                "Record ID": str(66_000_000 + ticket_no), "Ticket name": f"{category} (P{i})",
                "Create date": f"{end - dt.timedelta(days=days):%Y-%m-%d %H:%M}",
                "Category": category, "Priority": prio, "Ticket status": "Closed",
                "Pipeline": "Support Pipeline", "Source": "Email",
                "Associated Contact IDs": contact_id,
            })
        for days, score, comment in p.nps:
            feedback.append({"E-Mail": p.email,
                             "Datum": f"{end - dt.timedelta(days=days):%d.%m.%Y}",
                             "NPS": str(score), "Kommentar": comment})
        if p.newsletter:
            optin = end - dt.timedelta(days=300)
            row = {"Email Address": p.email, "First Name": p.first, "Last Name": p.last,
                   "MEMBER_RATING": "2", "OPTIN_TIME": f"{optin:%Y-%m-%d %H:%M:%S}",
                   "CONFIRM_TIME": f"{optin:%Y-%m-%d %H:%M:%S}",
                   "LAST_CHANGED": f"{optin:%Y-%m-%d %H:%M:%S}", "LEID": str(5_000_000 + i)}
            if p.newsletter == "unsubscribed":
                gone = end - dt.timedelta(days=20)
                row |= {"UNSUB_TIME": f"{gone:%Y-%m-%d %H:%M:%S}",
                        "LAST_CHANGED": f"{gone:%Y-%m-%d %H:%M:%S}",
                        "UNSUB_REASON": "Ich erhalte zu viele E-Mails"}
            members[p.newsletter].append(row)
        truth.append({"key": p.key, "email": p.email, "expected_segment": p.expected_segment,
                      "expected_class": p.expected_class, "expected_action": p.expected_action,
                      "newsletter": p.newsletter, "story": p.story})
    frame = lambda rows: pl.DataFrame(rows, infer_schema_length=None)  # noqa: E731
    return {"shop": frame(shop), "contacts": frame(contacts), "companies": frame(companies),
            "deals": frame(deals), "tickets": frame(tickets), "feedback": frame(feedback),
            "members_subscribed": frame(members["subscribed"]),
            "members_unsubscribed": frame(members["unsubscribed"]), "truth": frame(truth)}
