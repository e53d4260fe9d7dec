"""Format profiles: how each tool's export maps onto the raw contract.

A profile lists the fields of one raw table (`raw.<source>__<entity>`), the header
labels each field may appear under (English and German UI labels, API names), its type
and whether the column must be present. Adding a tool (WooCommerce, Salesforce, Brevo)
means adding a profile here, not touching the loader.

Header labels are compared after `normalise_label`: lower case, only letters and
digits, so `E-Mail`, `Email` and `EMAIL` are the same label.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field


def normalise_label(label: str) -> str:
    """Header label → comparison key (`"Country/Region"` → `"countryregion"`)."""
    text = unicodedata.normalize("NFKD", label.replace("\ufeff", ""))
    text = text.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


@dataclass(frozen=True)
class Field:
    """One column of a raw table.

    `rule` is an SQL condition on the typed value `{v}` and the words for a rejection
    when it is false, e.g. ("{v} >= 0", "must not be negative"). Timestamps must lie
    between 1970 and the load time + 1 day unless `future_ok`.
    """

    name: str
    labels: tuple[str, ...]
    type: str = "text"
    required_column: bool = False
    required_value: bool = False
    rule: tuple[str, str] | None = None
    future_ok: bool = False

    def label_keys(self) -> set[str]:
        return {normalise_label(x) for x in self.labels}


@dataclass(frozen=True)
class Profile:
    """One export type (e.g. Shopify orders) → one raw table."""

    name: str
    source: str
    entity: str
    description: str
    fields: tuple[Field, ...]
    # extra constant columns the loader derives from the file name (e.g. member status)
    derived: tuple[str, ...] = field(default=())

    @property
    def table(self) -> str:
        return f"{self.source}__{self.entity}"

    def match(self, header: list[str]) -> dict[str, int]:
        """Map field name → column index for a header (first label match wins)."""
        keys = [normalise_label(h) for h in header]
        mapping: dict[str, int] = {}
        for f in self.fields:
            wanted = f.label_keys()
            for i, k in enumerate(keys):
                if k in wanted and i not in mapping.values():
                    mapping[f.name] = i
                    break
        return mapping

    def missing_required(self, mapping: dict[str, int]) -> list[Field]:
        return [f for f in self.fields if f.required_column and f.name not in mapping]


NON_NEGATIVE = ("{v} >= 0", "must not be negative")
EMAIL_RULE = (r"regexp_full_match({v}, '[^@\s]+@[^@\s]+\.[A-Za-z]{2,}')",
              "must be an e-mail address like name@example.de")


def F(
    name: str,
    *labels: str,
    type: str = "text",
    col: bool = False,
    val: bool = False,
    rule: tuple[str, str] | None = None,
    future_ok: bool = False,
) -> Field:
    return Field(name, labels or (name,), type, required_column=col or val, required_value=val,
                 rule=rule, future_ok=future_ok)


def money(name: str, *labels: str, col: bool = False) -> Field:
    """A non-negative amount."""
    return F(name, *labels, type="decimal", col=col, rule=NON_NEGATIVE)


SHOPIFY_ORDERS = Profile(
    name="shopify_orders",
    source="shop",
    entity="orders",
    description="Shopify orders export (orders_export*.csv): one row per line item; "
    "order-level fields are filled on the first row of each order only.",
    fields=(
        F("order_name", "Name", "Order Name", "Bestellung", val=True),
        F("email", "Email", "E-Mail", "Customer Email", col=True),
        F("financial_status", "Financial Status", "Zahlungsstatus"),
        F("paid_at", "Paid at", "Bezahlt am", type="timestamp"),
        F("fulfillment_status", "Fulfillment Status", "Versandstatus"),
        F("fulfilled_at", "Fulfilled at", type="timestamp"),
        F("accepts_marketing", "Accepts Marketing", "Accepts Email Marketing",
          type="boolean"),
        F("currency", "Currency", "Währung"),
        money("subtotal", "Subtotal", "Zwischensumme"),
        money("shipping", "Shipping", "Versand"),
        money("taxes", "Taxes", "Steuern"),
        money("total", "Total", "Gesamt", "Summe", col=True),
        F("discount_code", "Discount Code", "Rabattcode"),
        money("discount_amount", "Discount Amount", "Rabattbetrag"),
        F("shipping_method", "Shipping Method"),
        F("created_at", "Created at", "Erstellt am", "Datum", type="timestamp", col=True),
        F("lineitem_quantity", "Lineitem quantity", "Artikelmenge", type="integer",
          rule=NON_NEGATIVE),
        F("lineitem_name", "Lineitem name", "Artikelname"),
        money("lineitem_price", "Lineitem price", "Artikelpreis"),
        money("lineitem_compare_at_price", "Lineitem compare at price"),
        F("lineitem_sku", "Lineitem sku", "Artikelnummer", "SKU"),
        F("lineitem_discount", "Lineitem discount", type="decimal"),
        F("billing_name", "Billing Name"),
        F("billing_company", "Billing Company"),
        F("billing_city", "Billing City"),
        F("billing_zip", "Billing Zip"),
        F("billing_country", "Billing Country"),
        F("billing_phone", "Billing Phone"),
        F("shipping_country", "Shipping Country"),
        F("cancelled_at", "Cancelled at", "Storniert am", type="timestamp"),
        F("payment_method", "Payment Method"),
        money("refunded_amount", "Refunded Amount", "Erstatteter Betrag"),
        F("outstanding_balance", "Outstanding Balance", type="decimal"),
        F("vendor", "Vendor"),
        F("shopify_order_id", "Id", "Order ID"),
        F("tags", "Tags"),
        F("source_name", "Source"),
        F("phone", "Phone"),
    ),
)

HUBSPOT_CONTACTS = Profile(
    name="hubspot_contacts",
    source="crm",
    entity="contacts",
    description="HubSpot contacts export (Record ID first, display labels).",
    fields=(
        F("record_id", "Record ID", "Contact ID", "Datensatz-ID", "hs_object_id", val=True),
        F("first_name", "First Name", "Vorname", "firstname"),
        F("last_name", "Last Name", "Nachname", "lastname"),
        F("email", "Email", "E-Mail", "E-Mail-Adresse", "Email Address", col=True),
        F("phone", "Phone Number", "Telefonnummer", "phone"),
        F("job_title", "Job Title", "Position", "jobtitle"),
        F("lifecycle_stage", "Lifecycle Stage", "Lebenszyklusphase", "lifecyclestage"),
        F("lead_status", "Lead Status", "hs_lead_status"),
        F("created_at", "Create Date", "Erstellungsdatum", "createdate", type="timestamp"),
        F("last_activity_at", "Last Activity Date", "Datum der letzten Aktivität",
          "notes_last_updated", type="timestamp"),
        F("original_source", "Original Source", "Originalquelle", "hs_analytics_source"),
        F("company_name", "Associated Company", "Company Name", "Unternehmensname",
          "Primary Associated Company", "company"),
        F("associated_company_ids", "Associated Company IDs", "Associated Company IDs (Primary)",
          "Associated Company ID", "associatedcompanyid"),
        F("city", "City", "Stadt", "Ort"),
        F("country", "Country/Region", "Country", "Land/Region", "Land"),
        F("marketing_consent", "Marketing contact status", "Marketing Contact Status"),
    ),
)

HUBSPOT_COMPANIES = Profile(
    name="hubspot_companies",
    source="crm",
    entity="companies",
    description="HubSpot companies export.",
    fields=(
        F("record_id", "Record ID", "Company ID", "Datensatz-ID", "hs_object_id", val=True),
        F("company_name", "Company name", "Firmenname", "Unternehmensname", "name", col=True),
        F("domain", "Company Domain Name", "Domain", "Domainname des Unternehmens", "Website URL"),
        F("industry", "Industry", "Branche"),
        F("employees", "Number of Employees", "Anzahl der Mitarbeiter", "Mitarbeiterzahl",
          "numberofemployees", type="integer", rule=NON_NEGATIVE),
        F("annual_revenue", "Annual Revenue", "Jahresumsatz", "annualrevenue", type="decimal"),
        F("country", "Country/Region", "Country", "Land/Region", "Land"),
        F("city", "City", "Stadt", "Ort"),
        F("lifecycle_stage", "Lifecycle Stage", "Lebenszyklusphase", "lifecyclestage"),
        F("created_at", "Create Date", "Erstellungsdatum", "createdate", type="timestamp"),
        F("owner", "Company owner", "Unternehmensinhaber"),
    ),
)

HUBSPOT_DEALS = Profile(
    name="hubspot_deals",
    source="crm",
    entity="deals",
    description="HubSpot deals export.",
    fields=(
        F("record_id", "Record ID", "Deal ID", "Datensatz-ID", "hs_object_id", val=True),
        F("deal_name", "Deal Name", "Dealname", "Name des Deals", "dealname", col=True),
        money("amount", "Amount", "Betrag"),
        F("close_date", "Close Date", "Abschlussdatum", "closedate", type="timestamp",
          future_ok=True),
        F("deal_stage", "Deal Stage", "Deal-Phase", "Dealphase", "dealstage"),
        F("pipeline", "Pipeline"),
        F("created_at", "Create Date", "Erstellungsdatum", "createdate", type="timestamp"),
        F("deal_owner", "Deal owner", "Deal-Inhaber"),
        F("deal_type", "Deal Type", "Dealtyp", "dealtype"),
        F("associated_company_ids", "Associated Company IDs", "Associated Company IDs (Primary)",
          "Associated Company", "Zugeordnetes Unternehmen"),
        F("associated_contact_ids", "Associated Contact IDs", "Associated Contact",
          "Zugeordneter Kontakt"),
    ),
)

HUBSPOT_TICKETS = Profile(
    name="hubspot_tickets",
    source="crm",
    entity="tickets",
    description="HubSpot tickets export (service requests and complaints).",
    fields=(
        F("record_id", "Record ID", "Ticket ID", "Datensatz-ID", "hs_object_id", val=True),
        F("ticket_name", "Ticket name", "Ticketname", "subject", col=True),
        F("created_at", "Create date", "Erstellungsdatum", "createdate", type="timestamp"),
        F("category", "Category", "Ticket category", "Kategorie", "hs_ticket_category"),
        F("priority", "Priority", "Priorität", "hs_ticket_priority"),
        F("status", "Ticket status", "Ticketstatus", "hs_pipeline_stage"),
        F("pipeline", "Pipeline"),
        F("source_channel", "Source", "Quelle", "Ticket source"),
        F("closed_at", "Close date", "Abschlussdatum", "closed_date", type="timestamp"),
        F("associated_contact_ids", "Associated Contact IDs", "Associated Contact",
          "Zugeordneter Kontakt"),
        F("associated_company_ids", "Associated Company IDs", "Associated Company",
          "Zugeordnetes Unternehmen"),
    ),
)

FEEDBACK = Profile(
    name="customer_feedback",
    source="crm",
    entity="feedback",
    description="Customer-feedback export (NPS survey): e-mail, date, score 0–10, comment. "
    "Accepts HubSpot feedback-submission labels and German survey-tool exports.",
    fields=(
        F("email", "Email", "E-Mail", "E-Mail-Adresse", "Email Address", "Contact email",
          col=True),
        F("submitted_at", "Submitted at", "Submission date", "Datum", "Date", "Created at",
          "Erstellt am", "Antwortdatum", type="timestamp"),
        F("nps", "NPS", "Rating", "Score", "Bewertung", "Likelihood to recommend",
          type="integer", col=True, rule=("{v} between 0 and 10", "must be a score from 0 to 10")),
        F("comment", "Comment", "Kommentar", "Response", "Antwort", "Feedback"),
        F("survey", "Survey name", "Umfrage", "Survey"),
    ),
)

MAILCHIMP_MEMBERS = Profile(
    name="mailchimp_members",
    source="newsletter",
    entity="members",
    description="Mailchimp audience export: subscribed_/unsubscribed_/cleaned_ member CSVs "
    "(usually inside the export ZIP). The member status comes from the file name.",
    fields=(
        F("email", "Email Address", "E-Mail-Adresse", "Email", "E-Mail", val=True,
          rule=EMAIL_RULE),
        F("first_name", "First Name", "Vorname", "FNAME"),
        F("last_name", "Last Name", "Nachname", "LNAME"),
        F("member_rating", "MEMBER_RATING", "Member Rating", type="integer"),
        F("optin_at", "OPTIN_TIME", type="timestamp"),
        F("confirm_at", "CONFIRM_TIME", type="timestamp"),
        F("last_changed_at", "LAST_CHANGED", type="timestamp"),
        F("leid", "LEID"),
        F("euid", "EUID"),
        F("tags", "TAGS", "Tags"),
        F("unsub_at", "UNSUB_TIME", type="timestamp"),
        F("unsub_campaign_title", "UNSUB_CAMPAIGN_TITLE"),
        F("unsub_campaign_id", "UNSUB_CAMPAIGN_ID"),
        F("unsub_reason", "UNSUB_REASON"),
        F("clean_at", "CLEAN_TIME", type="timestamp"),
        F("clean_campaign_title", "CLEAN_CAMPAIGN_TITLE"),
        F("clean_campaign_id", "CLEAN_CAMPAIGN_ID"),
    ),
    derived=("member_status",),
)

MAILCHIMP_ACTIVITY = Profile(
    name="mailchimp_activity",
    source="newsletter",
    entity="activity",
    description="Per-recipient campaign activity (Mailchimp email-activity fields): "
    "e-mail, campaign id and title, action (sent/open/click/bounce/unsubscribe), "
    "timestamp, url.",
    fields=(
        F("email", "Email Address", "Email", "email_address", "E-Mail", val=True),
        F("campaign_id", "Campaign ID", "campaign_id", "Kampagnen-ID", val=True),
        F("campaign_title", "Campaign Title", "Campaign", "Title", "Kampagne"),
        F("action", "Action", "Activity", "Aktion", val=True),
        F("event_at", "Timestamp", "Time", "Zeitpunkt", type="timestamp", val=True),
        F("url", "URL", "Link"),
    ),
)

PROFILES: tuple[Profile, ...] = (
    SHOPIFY_ORDERS,
    HUBSPOT_CONTACTS,
    HUBSPOT_COMPANIES,
    HUBSPOT_DEALS,
    HUBSPOT_TICKETS,
    FEEDBACK,
    MAILCHIMP_MEMBERS,
    MAILCHIMP_ACTIVITY,
)


def profiles_for(source: str) -> list[Profile]:
    return [p for p in PROFILES if p.source == source]


def best_profile(source: str, header: list[str]) -> tuple[Profile | None, dict[str, int]]:
    """The profile of `source` whose required columns are all present and that
    recognises the most columns of `header`; (None, {}) if none fits."""
    best: tuple[Profile | None, dict[str, int]] = (None, {})
    for p in profiles_for(source):
        mapping = p.match(header)
        if p.missing_required(mapping):
            continue
        if len(mapping) > len(best[1]):
            best = (p, mapping)
    return best


def closest_profile(source: str, header: list[str]) -> tuple[Profile, list[Field]]:
    """For an error message: the profile that came closest, and what it misses."""
    scored = []
    for p in profiles_for(source):
        mapping = p.match(header)
        scored.append((len(mapping) - 3 * len(p.missing_required(mapping)), p, mapping))
    _, p, mapping = max(scored, key=lambda t: t[0])
    return p, p.missing_required(mapping)


def member_status_from_name(name: str) -> str:
    """Mailchimp member file name → status (subscribed / unsubscribed / cleaned / …)."""
    base = name.rsplit("/", 1)[-1].rsplit("!", 1)[-1].lower()
    for status in ("unsubscribed", "nonsubscribed", "subscribed", "cleaned", "pending",
                   "transactional", "archived"):
        if base.startswith(status) or f"_{status}_" in base or f"-{status}" in base:
            return status
    return "subscribed"
