"""Generate demo exports in the real formats of Shopify, HubSpot and Mailchimp.

The same people appear across systems with real messiness (e-mail case and spaces,
guest checkouts, duplicate CRM contacts, several contacts per company, refunds and
cancellations, German names, € amounts). Purchases follow the BG/NBD process
(Fader, Hardie & Lee 2005): each buyer has a purchase rate λ ~ Gamma(r, α) and, after
every repeat purchase, drops out with probability p ~ Beta(a, b). The truth (rates,
who dropped out when) goes to `truth_dir`, never into the exports.

Everything is vectorised with NumPy/polars: no loop runs per person or per order.
Every join keeps its left frame's row order (`maintain_order="left"`): polars promises
no order otherwise, and line numbers and first lines taken after a join once made the same
seed give other files on a busy machine.
"""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import polars as pl
from tqdm import tqdm

from pipelines.demo import names
from pipelines.demo.planted import planted_frames

DAY_US = 86_400 * 1_000_000


@dataclass(frozen=True)
class DemoParams:
    """Parameters of the simulated world (written to the truth folder)."""

    people: int = 5000
    seed: int = 42
    end_date: str = "2026-09-30"
    years: float = 3.0
    buyer_share: float = 0.8
    b2b_share: float = 0.25
    # BG/NBD heterogeneity (rate per day)
    r: float = 0.9
    alpha: float = 120.0
    a: float = 1.0
    b: float = 5.0


def _ascii(col: pl.Expr) -> pl.Expr:
    return (
        col.str.to_lowercase()
        .str.replace_all("ä", "ae").str.replace_all("ö", "oe").str.replace_all("ü", "ue")
        .str.replace_all("ß", "ss").str.replace_all("ë", "e").str.replace_all("ş", "s")
        .str.replace_all("ı", "i").str.replace_all(" ", "")
    )


def _fmt_ts(col: pl.Expr, style: str) -> pl.Expr:
    """Format a naive local datetime as each tool writes it."""
    if style == "shopify":  # 2024-03-05 14:23:11 +0100 (CET/CEST by month)
        summer = col.dt.month().is_between(4, 10)
        return col.dt.strftime("%Y-%m-%d %H:%M:%S") + pl.when(summer).then(
            pl.lit(" +0200")).otherwise(pl.lit(" +0100"))
    if style == "hubspot":
        return col.dt.strftime("%Y-%m-%d %H:%M")
    if style == "mailchimp":
        return col.dt.strftime("%Y-%m-%d %H:%M:%S")
    if style == "de_date":
        return col.dt.strftime("%d.%m.%Y")
    raise ValueError(style)


def _de_amount(col: pl.Expr) -> pl.Expr:
    """1234.5 → '1.234,50' (German Excel)."""
    cents = (col * 100).round(0).cast(pl.Int64)
    euros = (cents // 100).cast(pl.Utf8)
    frac = (cents % 100).cast(pl.Utf8).str.zfill(2)
    # thousands separator via regex on reversed digits is awkward in polars; do it by
    # splitting into groups of three from the right
    grouped = euros.str.reverse().str.replace_all(r"(\d{3})(\d)", "$1.$2").str.reverse()
    # replace_all above is non-overlapping; apply twice for millions
    grouped = grouped.str.reverse().str.replace_all(r"(\d{3})(\d)", "$1.$2").str.reverse()
    return grouped + "," + frac


def purchase_process(rng: np.random.Generator, params: DemoParams, n: int, window_days: float,
                     is_buyer: np.ndarray):
    """The BG/NBD process behind the demo: λ ~ Gamma(r, α) purchases per day, first purchase
    uniform in the window, after each repeat purchase a drop-out with p ~ Beta(a, b).
    Returns per person (λ, p, first purchase day, death day) and all repeat purchases
    (owner index, day) — also those after the window; callers cut at the window end."""
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)  # purchases per day
    p = rng.beta(params.a, params.b, n)
    t0 = rng.uniform(0, window_days, n)  # first purchase, days since window start
    j = np.minimum(rng.geometric(p), 400)  # repeat purchases until dropout (BG/NBD)
    j = np.where(is_buyer, j, 0)
    owner = np.repeat(np.arange(n), j)
    gaps = rng.exponential(1.0, owner.size) / lam[owner]
    csum = np.cumsum(gaps)
    starts = np.cumsum(j) - j  # index of each person's first repeat purchase
    base = np.zeros(n)
    base[j > 0] = csum[starts[j > 0]] - gaps[starts[j > 0]]
    offsets = np.repeat(base, j)
    t_rep = t0[owner] + (csum - offsets)  # times of repeat purchases
    death = np.full(n, np.inf)
    last_idx = np.cumsum(j) - 1
    has = j > 0
    death[has] = t_rep[last_idx[has]]  # drops out right after the J-th repeat purchase
    return lam, p, t0, owner, t_rep, death


def generate(
    raw_dir: Path,
    truth_dir: Path,
    params: DemoParams = DemoParams(),
    progress: bool = True,
) -> dict[str, int]:
    """Write demo exports into raw_dir/{shop,crm,newsletter} and the truth into truth_dir."""
    rng = np.random.default_rng(params.seed)
    n = params.people
    end = dt.datetime.fromisoformat(params.end_date) + dt.timedelta(hours=23, minutes=59)
    window_days = params.years * 365.25
    start = end - dt.timedelta(days=window_days)
    bar = tqdm(total=7, desc="demo data", disable=not progress, unit="step")
    planted = planted_frames(start, end)

    # ------------------------------------------------------------------ people
    first = np.array(names.FIRST_NAMES)[rng.integers(0, len(names.FIRST_NAMES), n)]
    last = np.array(names.LAST_NAMES)[rng.integers(0, len(names.LAST_NAMES), n)]
    is_buyer = rng.random(n) < params.buyer_share
    is_b2b = rng.random(n) < params.b2b_share
    n_comp = max(1, int(is_b2b.sum() / 2.5))
    company_of = np.where(is_b2b, rng.integers(0, n_comp, n), -1)
    comp = pl.DataFrame({
        "company_idx": np.arange(n_comp),
        "w1": np.array(names.COMPANY_WORDS)[rng.integers(0, len(names.COMPANY_WORDS), n_comp)],
        "w2": np.array(names.COMPANY_KINDS)[rng.integers(0, len(names.COMPANY_KINDS), n_comp)],
        "lf": np.array(names.LEGAL_FORMS)[rng.integers(0, len(names.LEGAL_FORMS), n_comp)],
        "industry": np.array(names.INDUSTRIES)[rng.integers(0, len(names.INDUSTRIES), n_comp)],
        "employees": np.round(rng.lognormal(3.0, 1.2, n_comp)).astype(np.int64) + 1,
        "city": np.array(names.CITIES)[rng.integers(0, len(names.CITIES), n_comp)],
        "record_id": 9_000_000_000 + np.arange(n_comp) * 7 + rng.integers(0, 7, n_comp),
        "created": rng.uniform(0, window_days, n_comp),
    }).with_columns(
        company_name=pl.col("w1") + " " + pl.col("w2") + " " + pl.col("lf"),
        domain=_ascii(pl.col("w1") + pl.col("w2")) + pl.format("{}.de", pl.col("company_idx")),
    )
    people = pl.DataFrame({
        "person_idx": np.arange(n), "first_name": first, "last_name": last,
        "is_buyer": is_buyer, "is_b2b": is_b2b, "company_idx": company_of,
        "domain_pick": rng.integers(0, len(names.B2C_DOMAINS), n),
    }).join(comp.select("company_idx", "domain", "company_name"), on="company_idx", how="left",
            maintain_order="left")
    # B2C domains without a per-row Python call: join a small lookup
    dom = pl.DataFrame({"domain_pick": np.arange(len(names.B2C_DOMAINS)),
                        "b2c_domain": names.B2C_DOMAINS})
    people = people.join(dom, on="domain_pick", how="left", maintain_order="left").with_columns(
        email=_ascii(pl.col("first_name")) + "." + _ascii(pl.col("last_name"))
        + pl.col("person_idx").cast(pl.Utf8) + "@"
        + pl.when(pl.col("is_b2b")).then(pl.col("domain")).otherwise(pl.col("b2c_domain"))
    ).sort("person_idx")
    bar.update()

    # ------------------------------------------------------------ purchases (BG/NBD)
    lam, p, t0, owner, t_rep, death = purchase_process(rng, params, n, window_days, is_buyer)
    keep = t_rep <= window_days
    ord_owner = np.concatenate([np.arange(n)[is_buyer], owner[keep]])
    ord_t = np.concatenate([t0[is_buyer], t_rep[keep]])
    order_sort = np.argsort(ord_t, kind="stable")
    ord_owner, ord_t = ord_owner[order_sort], ord_t[order_sort]
    n_orders = ord_owner.size
    bar.update()

    # ------------------------------------------------------------------ orders
    created = np.datetime64(start, "us") + (ord_t * DAY_US).astype("timedelta64[us]")
    # seconds resolution, business hours bias
    created = created.astype("datetime64[s]").astype("datetime64[ms]")
    n_lines = rng.choice([1, 2, 3, 4], n_orders, p=[0.55, 0.28, 0.12, 0.05])
    line_order = np.repeat(np.arange(n_orders), n_lines)
    prod_idx = rng.integers(0, len(names.PRODUCTS), line_order.size)
    prod = pl.DataFrame({
        "prod_idx": np.arange(len(names.PRODUCTS)),
        "sku": [x[0] for x in names.PRODUCTS],
        "product": [x[1] for x in names.PRODUCTS],
        "price": [x[2] for x in names.PRODUCTS],
    })
    qty = rng.choice([1, 2, 3], line_order.size, p=[0.8, 0.15, 0.05])
    lines = pl.DataFrame({"order_idx": line_order, "prod_idx": prod_idx, "qty": qty}).join(
        prod, on="prod_idx", how="left", maintain_order="left").with_columns(
        line_no=pl.int_range(pl.len()).over("order_idx"),
        line_total=pl.col("price") * pl.col("qty"),
    )
    u = rng.random(n_orders)
    disc_rate = np.select([u < 0.06, u < 0.12], [0.10, 0.15], 0.0)
    disc_code = np.select([u < 0.06, u < 0.12], ["WILLKOMMEN10", "SOMMER15"], "")
    status_u = rng.random(n_orders)
    age_days = window_days - ord_t
    is_cancel = status_u < 0.015
    is_full_refund = (status_u >= 0.015) & (status_u < 0.035)
    is_part_refund = (status_u >= 0.035) & (status_u < 0.095)
    is_pending = (~is_cancel) & (age_days < 4) & (rng.random(n_orders) < 0.3)
    orders = pl.DataFrame({
        "order_idx": np.arange(n_orders), "person_idx": ord_owner, "created": created,
        "disc_rate": disc_rate, "disc_code": disc_code, "is_cancel": is_cancel,
        "is_full_refund": is_full_refund, "is_part_refund": is_part_refund,
        "is_pending": is_pending, "email_variant": rng.random(n_orders),
        "source": rng.choice(["web", "web", "web", "shopify_draft_order", "pos"], n_orders),
    })
    sums = lines.group_by("order_idx").agg(
        items=pl.col("line_total").sum(),
        first_line_total=pl.col("line_total").first(),
    )
    orders = orders.join(sums, on="order_idx", maintain_order="left").with_columns(
        discount=(pl.col("items") * pl.col("disc_rate")).round(2),
    ).with_columns(
        subtotal=(pl.col("items") - pl.col("discount")).round(2),
    ).with_columns(
        shipping=pl.when(pl.col("subtotal") < 50).then(4.90).otherwise(0.0),
    ).with_columns(
        total=(pl.col("subtotal") + pl.col("shipping")).round(2),
    ).with_columns(
        taxes=(pl.col("total") * 19 / 119).round(2),
        refunded=pl.when(pl.col("is_cancel") | pl.col("is_pending")).then(0.0)
        .when(pl.col("is_full_refund")).then(pl.col("total"))
        .when(pl.col("is_part_refund")).then(
            pl.min_horizontal(pl.col("first_line_total"), pl.col("total")))
        .otherwise(0.0).round(2),
        financial_status=pl.when(pl.col("is_cancel")).then(pl.lit("voided"))
        .when(pl.col("is_pending")).then(pl.lit("pending"))
        .when(pl.col("is_full_refund")).then(pl.lit("refunded"))
        .when(pl.col("is_part_refund")).then(pl.lit("partially_refunded"))
        .otherwise(pl.lit("paid")),
    ).sort("created", "order_idx").with_columns(
        name=pl.format("#{}", pl.int_range(pl.len()) + 1001),
        shopify_id=(pl.int_range(pl.len()) * 13 + 5_100_000_000_000).cast(pl.Utf8),
    )
    people_cols = people.select("person_idx", "email", "first_name", "last_name",
                                "company_name", "is_b2b")
    accepts = pl.DataFrame({"person_idx": np.arange(n), "accepts": rng.random(n) < 0.55,
                            "country": rng.choice(["Germany", "Austria", "Switzerland"], n,
                                                  p=[0.85, 0.08, 0.07])})
    orders = orders.join(people_cols, on="person_idx", maintain_order="left").join(
        accepts, on="person_idx", maintain_order="left")
    # e-mail messiness at checkout: case changes, surrounding spaces
    orders = orders.with_columns(
        checkout_email=pl.when(pl.col("email_variant") < 0.06)
        .then(pl.col("email").str.to_uppercase())
        .when(pl.col("email_variant") < 0.12).then(pl.lit(" ") + pl.col("email") + pl.lit(" "))
        .when(pl.col("email_variant") < 0.20).then(
            pl.col("email").str.slice(0, 1).str.to_uppercase() + pl.col("email").str.slice(1))
        .otherwise(pl.col("email")),
        ts_local=pl.col("created").cast(pl.Datetime("us")),
    )
    shop_rows = lines.join(orders, on="order_idx", maintain_order="left").sort(
        "created", "order_idx", "line_no")
    first_row = pl.col("line_no") == 0

    def order_field(expr: pl.Expr) -> pl.Expr:
        return pl.when(first_row).then(expr).otherwise(pl.lit(None))

    def money(c: str) -> pl.Expr:
        return pl.format("{}", pl.col(c).round(2)).str.replace(r"^(-?\d+)$", "$1.00").str.replace(
            r"\.(\d)$", ".${1}0")
    created_s = _fmt_ts(pl.col("ts_local"), "shopify")
    paid_s = _fmt_ts(pl.col("ts_local") + pl.duration(minutes=3), "shopify")
    cancel_s = _fmt_ts(pl.col("ts_local") + pl.duration(hours=20), "shopify")
    shop_export = shop_rows.select(
        pl.col("name").alias("Name"),
        pl.col("checkout_email").alias("Email"),
        order_field(pl.col("financial_status")).alias("Financial Status"),
        order_field(pl.when(pl.col("is_pending") | pl.col("is_cancel")).then(None)
                    .otherwise(paid_s)).alias("Paid at"),
        order_field(pl.when(pl.col("is_cancel")).then(pl.lit("unfulfilled"))
                    .otherwise(pl.lit("fulfilled"))).alias("Fulfillment Status"),
        order_field(pl.when(pl.col("accepts")).then(pl.lit("yes")).otherwise(pl.lit("no")))
        .alias("Accepts Marketing"),
        order_field(pl.lit("EUR")).alias("Currency"),
        order_field(money("subtotal")).alias("Subtotal"),
        order_field(money("shipping")).alias("Shipping"),
        order_field(money("taxes")).alias("Taxes"),
        order_field(money("total")).alias("Total"),
        order_field(pl.col("disc_code")).alias("Discount Code"),
        order_field(money("discount")).alias("Discount Amount"),
        order_field(pl.when(pl.col("shipping") > 0).then(pl.lit("DHL Paket"))
                    .otherwise(pl.lit("Kostenloser Versand"))).alias("Shipping Method"),
        order_field(created_s).alias("Created at"),
        pl.col("qty").cast(pl.Utf8).alias("Lineitem quantity"),
        pl.col("product").alias("Lineitem name"),
        money("price").alias("Lineitem price"),
        pl.col("sku").alias("Lineitem sku"),
        order_field(pl.col("first_name") + " " + pl.col("last_name")).alias("Billing Name"),
        order_field(pl.col("company_name")).alias("Billing Company"),
        order_field(pl.col("country").replace({"Germany": "DE", "Austria": "AT",
                                               "Switzerland": "CH"})).alias("Billing Country"),
        order_field(pl.when(pl.col("is_cancel")).then(cancel_s)).alias("Cancelled at"),
        order_field(pl.lit("Shopify Payments")).alias("Payment Method"),
        order_field(money("refunded")).alias("Refunded Amount"),
        order_field(pl.lit("Kaffeekontor")).alias("Vendor"),
        order_field(pl.when(pl.col("is_pending")).then(money("total")).otherwise(pl.lit("0.00")))
        .alias("Outstanding Balance"),
        order_field(pl.col("shopify_id")).alias("Id"),
        order_field(pl.when(pl.col("is_b2b")).then(pl.lit("B2B")).otherwise(pl.lit("")))
        .alias("Tags"),
        order_field(pl.col("source")).alias("Source"),
    )
    (raw_dir / "shop").mkdir(parents=True, exist_ok=True)
    shop_export = _append(shop_export, planted["shop"])
    shop_export.pipe(_blank).write_csv(raw_dir / "shop" / "orders_export_1.csv", null_value="")
    bar.update()

    # ------------------------------------------------------------------ CRM
    crm_dir = raw_dir / "crm"
    crm_dir.mkdir(parents=True, exist_ok=True)
    first_order = orders.group_by("person_idx").agg(
        first_ts=pl.col("ts_local").min(), orders=pl.len())
    in_crm = np.where(is_b2b, True, np.where(is_buyer, rng.random(n) < 0.45,
                                             rng.random(n) < 0.7))
    contacts = people.with_columns(
        in_crm=pl.Series(in_crm), created_days=pl.Series(rng.uniform(0, window_days, n)),
        stage_u=pl.Series(rng.random(n)), dup_u=pl.Series(rng.random(n)),
    ).filter(pl.col("in_crm")).join(first_order, on="person_idx", how="left", maintain_order="left").join(
        comp.select("company_idx", pl.col("record_id").alias("company_record_id")),
        on="company_idx", how="left", maintain_order="left")
    contacts = contacts.with_columns(
        record_id=(pl.col("person_idx") * 11 + 101).cast(pl.Int64),
        created_at=pl.coalesce(
            pl.col("first_ts") - pl.duration(days=2),
            pl.lit(start) + pl.duration(days=pl.col("created_days").cast(pl.Int64))),
        lifecycle=pl.when(pl.col("is_buyer")).then(
            pl.when(pl.col("stage_u") < 0.08).then(pl.lit("Evangelist"))
            .otherwise(pl.lit("Customer")))
        .when(pl.col("stage_u") < 0.4).then(pl.lit("Lead"))
        .when(pl.col("stage_u") < 0.6).then(pl.lit("Subscriber"))
        .when(pl.col("stage_u") < 0.8).then(pl.lit("Marketing Qualified Lead"))
        .otherwise(pl.lit("Opportunity")),
    )
    # duplicate contacts: the same person entered twice, e-mail typed differently
    dups = contacts.filter(pl.col("dup_u") < 0.03).with_columns(
        record_id=pl.col("record_id") + 5_000_000_000,
        email=pl.lit(" ") + pl.col("email").str.to_uppercase(),
        lifecycle=pl.lit("Lead"),
    )
    contacts = pl.concat([contacts, dups]).sort("record_id")
    contacts_export = contacts.select(
        pl.col("record_id").cast(pl.Utf8).alias("Record ID"),
        pl.col("first_name").alias("First Name"),
        pl.col("last_name").alias("Last Name"),
        pl.col("email").alias("Email"),
        pl.when(pl.col("person_idx") % 3 == 0).then(
            pl.format("+49 30 {}", (pl.col("person_idx") * 7919 % 9_000_000 + 1_000_000)))
        .alias("Phone Number"),
        pl.col("lifecycle").alias("Lifecycle Stage"),
        pl.when(pl.col("is_buyer")).then(pl.lit("")).otherwise(pl.lit("Open")).alias(
            "Lead Status"),
        _fmt_ts(pl.col("created_at"), "hubspot").alias("Create Date"),
        pl.when(pl.col("is_b2b")).then(pl.lit("Sales")).otherwise(
            pl.lit("Organic Search")).alias("Original Source"),
        pl.col("company_name").alias("Associated Company"),
        pl.col("company_record_id").cast(pl.Utf8).alias("Associated Company IDs"),
    )
    contacts_export = _append(contacts_export, planted["contacts"])
    contacts_export.pipe(_blank).write_csv(crm_dir / "hubspot-crm-exports-contacts-2026-10-01.csv",
                              null_value="")
    companies_export = comp.select(
        pl.col("record_id").cast(pl.Utf8).alias("Record ID"),
        pl.col("company_name").alias("Company name"),
        pl.col("domain").alias("Company Domain Name"),
        pl.col("industry").alias("Industry"),
        pl.col("employees").cast(pl.Utf8).alias("Number of Employees"),
        (pl.col("employees") * 95_000).cast(pl.Utf8).alias("Annual Revenue"),
        pl.lit("Germany").alias("Country/Region"),
        pl.col("city").alias("City"),
        pl.lit("Customer").alias("Lifecycle Stage"),
        _fmt_ts(pl.lit(start) + pl.duration(days=pl.col("created").cast(pl.Int64)),
                "hubspot").alias("Create Date"),
    )
    _append(companies_export, planted["companies"]).pipe(_blank).write_csv(
        crm_dir / "hubspot-crm-exports-companies-2026-10-01.csv", null_value="")

    # deals: B2B companies, saved from Excel (German dialect: ; 1.234,56 31.12.2024 cp1252)
    n_deals = int(n_comp * 1.6)
    deal_comp = rng.integers(0, n_comp, n_deals)
    b2b_contacts = contacts.filter(pl.col("is_b2b") & (pl.col("record_id") < 5_000_000_000))
    first_contact = b2b_contacts.group_by("company_idx").agg(
        contact_id=pl.col("record_id").min())
    stages = np.array(["Closed Won", "Closed Lost", "Appointment Scheduled", "Qualified To Buy",
                       "Contract Sent", "Decision Maker Bought-In"])
    deals = pl.DataFrame({
        "company_idx": deal_comp,
        "amount": np.round(rng.lognormal(8.3, 0.9, n_deals), -1),
        "stage": stages[rng.choice(len(stages), n_deals, p=[0.4, 0.2, 0.1, 0.1, 0.1, 0.1])],
        "created_days": rng.uniform(0, window_days - 30, n_deals),
        "close_in": rng.uniform(10, 120, n_deals),
    }).with_row_index("deal_idx").join(
        comp.select("company_idx", "record_id", "company_name"), on="company_idx",
        maintain_order="left").join(
        first_contact, on="company_idx", how="left", maintain_order="left").with_columns(
        created_at=pl.lit(start) + pl.duration(days=pl.col("created_days").cast(pl.Int64)),
    ).with_columns(close_at=pl.col("created_at") + pl.duration(
        days=pl.col("close_in").cast(pl.Int64))).sort("deal_idx")
    deals_export = deals.select(
        (pl.col("deal_idx").cast(pl.Int64) * 3 + 30_000_000_001).cast(pl.Utf8).alias("Record ID"),
        (pl.col("company_name") + " – Rahmenvertrag").alias("Deal Name"),
        _de_amount(pl.col("amount")).alias("Amount"),
        _fmt_ts(pl.col("close_at"), "de_date").alias("Close Date"),
        pl.col("stage").alias("Deal Stage"),
        pl.lit("Sales Pipeline").alias("Pipeline"),
        _fmt_ts(pl.col("created_at"), "de_date").alias("Create Date"),
        pl.col("record_id").cast(pl.Utf8).alias("Associated Company IDs"),
        pl.col("contact_id").cast(pl.Utf8).alias("Associated Contact IDs"),
    )
    _write_excel_de(_append(deals_export, planted["deals"]),
                    crm_dir / "hubspot-crm-exports-deals-2026-10-01.csv")

    # tickets: service requests, some people need a lot of service
    service_need = rng.gamma(0.5, 1.0, n) * np.where(is_b2b, 2.0, 0.6)
    ticket_count = rng.poisson(service_need * np.where(is_buyer, 1.0, 0.1))
    ticket_owner = np.repeat(np.arange(n), ticket_count)
    contact_ids = contacts.filter(pl.col("record_id") < 5_000_000_000).select(
        "person_idx", "record_id")
    tickets = pl.DataFrame({
        "person_idx": ticket_owner,
        "days": rng.uniform(0, window_days, ticket_owner.size),
        "cat": rng.integers(0, len(names.TICKET_CATEGORIES), ticket_owner.size),
        "prio": rng.choice(len(names.TICKET_PRIORITIES), ticket_owner.size,
                           p=[0.4, 0.35, 0.2, 0.05]),
    }).with_row_index("ticket_idx").join(contact_ids, on="person_idx", maintain_order="left").with_columns(
        created_at=pl.lit(start) + pl.duration(seconds=(pl.col("days") * 86400).cast(pl.Int64)),
    ).sort("ticket_idx")
    cat_df = pl.DataFrame({"cat": np.arange(len(names.TICKET_CATEGORIES)),
                           "category": names.TICKET_CATEGORIES})
    prio_df = pl.DataFrame({"prio": np.arange(len(names.TICKET_PRIORITIES)),
                            "priority": names.TICKET_PRIORITIES})
    tickets = tickets.join(cat_df, on="cat", maintain_order="left").join(
        prio_df, on="prio", maintain_order="left").sort("ticket_idx")
    tickets_export = tickets.select(
        (pl.col("ticket_idx").cast(pl.Int64) * 5 + 70_000_000_003).cast(pl.Utf8).alias("Record ID"),
        (pl.col("category") + " #" + pl.col("ticket_idx").cast(pl.Utf8)).alias("Ticket name"),
        _fmt_ts(pl.col("created_at"), "hubspot").alias("Create date"),
        pl.col("category").alias("Category"),
        pl.col("priority").alias("Priority"),
        pl.when(pl.col("days") > window_days - 7).then(pl.lit("Waiting on us"))
        .otherwise(pl.lit("Closed")).alias("Ticket status"),
        pl.lit("Support Pipeline").alias("Pipeline"),
        pl.lit("Email").alias("Source"),
        pl.col("record_id").cast(pl.Utf8).alias("Associated Contact IDs"),
    )
    _append(tickets_export, planted["tickets"]).pipe(_blank).write_csv(
        crm_dir / "hubspot-crm-exports-tickets-2026-10-01.csv", null_value="")

    # feedback survey (German Excel dialect): NPS lower for people who dropped out
    alive_at_end = death > window_days
    fb_mask = is_buyer & (rng.random(n) < 0.3)
    fb_idx = np.flatnonzero(fb_mask)
    base = np.where(alive_at_end[fb_idx], 8.3, 5.5) - np.minimum(ticket_count[fb_idx], 4) * 0.6
    nps = np.clip(np.round(base + rng.normal(0, 1.8, fb_idx.size)), 0, 10).astype(np.int64)
    fb_days = np.minimum(t0[fb_idx] + rng.uniform(5, 400, fb_idx.size), window_days - 1)
    comment_pick = rng.integers(0, 10_000, fb_idx.size)
    fb = pl.DataFrame({"person_idx": fb_idx, "nps": nps, "days": fb_days,
                       "pick": comment_pick}).join(
        people.select("person_idx", "email"), on="person_idx", maintain_order="left").with_columns(
        when=pl.lit(start) + pl.duration(days=pl.col("days").cast(pl.Int64)),
        comment=pl.when(pl.col("nps") >= 9).then(_pick(names.COMMENTS_PROMOTER))
        .when(pl.col("nps") >= 7).then(_pick(names.COMMENTS_PASSIVE))
        .otherwise(_pick(names.COMMENTS_DETRACTOR)),
    ).sort("days", "person_idx")
    fb_export = fb.select(
        pl.col("email").alias("E-Mail"),
        _fmt_ts(pl.col("when"), "de_date").alias("Datum"),
        pl.col("nps").cast(pl.Utf8).alias("NPS"),
        pl.col("comment").alias("Kommentar"),
    )
    _write_excel_de(_append(fb_export, planted["feedback"]), crm_dir / "kundenfeedback_2026.csv")
    bar.update()

    # ------------------------------------------------------------------ newsletter
    nl_dir = raw_dir / "newsletter"
    nl_dir.mkdir(parents=True, exist_ok=True)
    is_member = rng.random(n) < 0.55
    optin_days = np.where(is_buyer, np.minimum(t0 + rng.uniform(-60, 200, n), window_days - 1),
                          rng.uniform(0, window_days - 1, n))
    optin_days = np.clip(optin_days, 0, window_days - 1)
    u = rng.random(n)
    # dropped-out customers unsubscribe more often
    unsub = is_member & (u < np.where(alive_at_end, 0.08, 0.25))
    cleaned = is_member & ~unsub & (rng.random(n) < 0.03)
    unsub_days = np.minimum(optin_days + rng.uniform(30, 500, n), window_days - 1)
    engagement = np.clip(rng.beta(2, 3, n) * np.where(alive_at_end, 1.2, 0.5), 0, 0.95)
    members = people.select("person_idx", "email", "first_name", "last_name", "is_b2b",
                            "is_buyer").with_columns(
        is_member=pl.Series(is_member), unsub=pl.Series(unsub), cleaned=pl.Series(cleaned),
        optin=pl.lit(start) + pl.duration(seconds=(pl.Series(optin_days) * 86400).cast(pl.Int64)),
        unsub_at=pl.lit(start) + pl.duration(
            seconds=(pl.Series(unsub_days) * 86400).cast(pl.Int64)),
        rating=pl.Series(np.clip(np.round(engagement * 5 + 1), 1, 5).astype(np.int64)),
        leid=pl.Series(10_000_000 + rng.permutation(n)),
        euid=pl.Series(rng.integers(0, 16**10, n)).cast(pl.Utf8).str.zfill(10),
        variant=pl.Series(rng.random(n)),
    ).filter(pl.col("is_member")).with_columns(
        nl_email=pl.when(pl.col("variant") < 0.1).then(
            pl.col("email").str.slice(0, 1).str.to_uppercase() + pl.col("email").str.slice(1))
        .otherwise(pl.col("email")),
    )

    def member_cols(df: pl.DataFrame) -> pl.DataFrame:
        return df.select(
            pl.col("nl_email").alias("Email Address"),
            pl.col("first_name").alias("First Name"),
            pl.col("last_name").alias("Last Name"),
            pl.lit("").alias("Address"), pl.lit("").alias("Phone Number"),
            pl.col("rating").cast(pl.Utf8).alias("MEMBER_RATING"),
            _fmt_ts(pl.col("optin"), "mailchimp").alias("OPTIN_TIME"),
            pl.lit("").alias("OPTIN_IP"),
            _fmt_ts(pl.col("optin") + pl.duration(minutes=4), "mailchimp").alias("CONFIRM_TIME"),
            pl.lit("").alias("CONFIRM_IP"),
            _fmt_ts(pl.col("optin") + pl.duration(minutes=4), "mailchimp").alias("LAST_CHANGED"),
            pl.col("leid").cast(pl.Utf8).alias("LEID"),
            pl.col("euid").alias("EUID"),
            pl.lit("").alias("NOTES"),
            pl.when(pl.col("is_b2b")).then(pl.lit('"B2B"')).when(pl.col("is_buyer"))
            .then(pl.lit('"Kunde"')).otherwise(pl.lit("")).alias("TAGS"),
        )

    campaign_ids = [f"{h:010x}" for h in rng.integers(16**9, 16**10, 12)]
    sub = member_cols(members.filter(~pl.col("unsub") & ~pl.col("cleaned")))
    uns = _append(_unsub_frame(members, member_cols, campaign_ids),
                  planted["members_unsubscribed"])
    sub = _append(sub, planted["members_subscribed"])
    cln = member_cols(members.filter(pl.col("cleaned"))).with_columns(
        CLEAN_TIME=pl.lit((end - dt.timedelta(days=40)).strftime("%Y-%m-%d %H:%M:%S")),
        CLEAN_CAMPAIGN_TITLE=pl.lit("Newsletter August"),
        CLEAN_CAMPAIGN_ID=pl.lit(campaign_ids[-2]),
    )
    zip_path = nl_dir / "members_export_6a1f0c2d9e.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for label, frame in (("subscribed", sub), ("unsubscribed", uns), ("cleaned", cln)):
            # members dated by the export day, not the clock: same seed, same bytes
            member = zipfile.ZipInfo(f"{label}_members_export_6a1f0c2d9e.csv",
                                     date_time=(end.year, end.month, end.day, 6, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(member, frame.pipe(_blank).write_csv(null_value=""))
    bar.update()

    # campaign activity: 12 monthly campaigns; recipients = subscribed at send time
    send_days = window_days - 30.4 * np.arange(12)[::-1] - 5
    titles = [f"Newsletter {d:%B %Y}" for d in
              (start + dt.timedelta(days=float(x)) for x in send_days)]
    m_idx = members["person_idx"].to_numpy()
    m_opt = optin_days[m_idx]
    m_end = np.where(unsub[m_idx], unsub_days[m_idx], np.inf)
    m_end = np.where(cleaned[m_idx], window_days - 40, m_end)
    recips = []
    for c in range(12):  # 12 campaigns: a loop per campaign, vectorised per recipient
        ok = (m_opt < send_days[c]) & (m_end > send_days[c])
        idx = m_idx[ok]
        alive = death[idx] > send_days[c]
        p_open = engagement[idx] * np.where(alive, 1.0, 0.35)
        opened = rng.random(idx.size) < p_open
        clicked = opened & (rng.random(idx.size) < 0.3)
        bounced = rng.random(idx.size) < 0.01
        send_t = send_days[c] + 0.4
        open_t = send_t + rng.exponential(0.8, idx.size)
        for action, mask, t in (("sent", np.ones(idx.size, bool), np.full(idx.size, send_t)),
                                ("bounce", bounced, np.full(idx.size, send_t + 0.01)),
                                ("open", opened & ~bounced, open_t),
                                ("click", clicked & ~bounced, open_t + 0.003)):
            recips.append(pl.DataFrame({
                "person_idx": idx[mask], "campaign": np.full(mask.sum(), c),
                "action": np.full(mask.sum(), action), "t": t[mask]}))
        un = idx[unsub[idx] & (np.abs(unsub_days[idx] - send_days[c]) < 15.2)]
        recips.append(pl.DataFrame({"person_idx": un, "campaign": np.full(un.size, c),
                                    "action": np.full(un.size, "unsubscribe"),
                                    "t": unsub_days[un]}))
    act = pl.concat(recips).filter(pl.col("t") <= window_days)
    camp = pl.DataFrame({"campaign": np.arange(12), "cid": campaign_ids, "title": titles})
    act = act.join(camp, on="campaign", maintain_order="left").join(members.select("person_idx", "nl_email"),
                                            on="person_idx", maintain_order="left").with_columns(
        ts=pl.lit(start) + pl.duration(seconds=(pl.col("t") * 86400).cast(pl.Int64)),
    ).sort("ts", "person_idx", "action")
    act.select(
        pl.col("nl_email").alias("Email Address"),
        pl.col("cid").alias("Campaign ID"),
        pl.col("title").alias("Campaign Title"),
        pl.col("action").alias("Action"),
        _fmt_ts(pl.col("ts"), "mailchimp").alias("Timestamp"),
        pl.when(pl.col("action") == "click").then(
            pl.lit("https://kaffeekontor.example/angebote")).alias("URL"),
    ).pipe(_blank).write_csv(nl_dir / "campaign_activity_2026-10-01.csv", null_value="")
    bar.update()

    # ------------------------------------------------------------------ truth
    truth_dir.mkdir(parents=True, exist_ok=True)
    counts = orders.group_by("person_idx").agg(orders=pl.len())
    truth = people.select("person_idx", "email", "is_buyer", "is_b2b").with_columns(
        lambda_per_day=pl.Series(lam), dropout_p=pl.Series(p),
        first_purchase_at=pl.when(pl.col("is_buyer")).then(
            pl.lit(start) + pl.duration(seconds=(pl.Series(t0) * 86400).cast(pl.Int64))),
        dropped_out_at=pl.when(pl.col("is_buyer") & pl.Series(death <= window_days)).then(
            pl.lit(start) + pl.duration(seconds=(pl.Series(np.where(
                np.isfinite(death), np.minimum(death, 1e6), 0)) * 86400).cast(pl.Int64))),
        is_alive_at_end=pl.col("is_buyer") & pl.Series(alive_at_end),
        is_newsletter_member=pl.Series(is_member), is_in_crm=pl.Series(in_crm),
    ).join(counts, on="person_idx", how="left", maintain_order="left").with_columns(
        pl.col("orders").fill_null(0))
    truth.pipe(_blank).write_csv(truth_dir / "people.csv")
    planted["truth"].write_csv(truth_dir / "planted.csv")
    (truth_dir / "params.json").write_text(json.dumps(
        {**asdict(params), "window_start": start.isoformat(), "orders": n_orders,
         "order_lines": lines.height}, indent=2))
    bar.update()
    bar.close()
    return {"people": n, "orders": n_orders, "order_lines": lines.height,
            "contacts": contacts.height, "companies": n_comp, "deals": n_deals,
            "tickets": tickets.height, "feedback": fb.height, "members": members.height,
            "activity": act.height}


def _pick(options: list[str]) -> pl.Expr:
    """Choose options[pick % len] without a per-row Python call."""
    expr = pl.lit(options[0])
    for i, text in enumerate(options[1:], start=1):
        expr = pl.when(pl.col("pick") % len(options) == i).then(pl.lit(text)).otherwise(expr)
    return expr


def _unsub_frame(members: pl.DataFrame, member_cols, campaign_ids: list[str]) -> pl.DataFrame:
    un = members.filter(pl.col("unsub"))
    reasons = ["Ich erhalte zu viele E-Mails", "Inhalte nicht relevant", "Sonstiges", ""]
    return member_cols(un).with_columns(
        UNSUB_TIME=un.select(_fmt_ts(pl.col("unsub_at"), "mailchimp")).to_series(),
        UNSUB_CAMPAIGN_TITLE=pl.lit("Newsletter"),
        UNSUB_CAMPAIGN_ID=pl.lit(campaign_ids[0]),
        UNSUB_REASON=un.select(
            (pl.col("leid") % len(reasons)).cast(pl.Utf8)
            .replace({str(i): r for i, r in enumerate(reasons)})).to_series(),
    )


def _append(export: pl.DataFrame, extra: pl.DataFrame) -> pl.DataFrame:
    """Append planted rows (text columns named like the export's) at the end."""
    if extra.height == 0:
        return export
    extra = extra.select([pl.col(c).cast(pl.Utf8) if c in extra.columns
                          else pl.lit(None, pl.Utf8).alias(c) for c in export.columns])
    return pl.concat([export.with_columns(pl.all().cast(pl.Utf8)), extra])


def _blank(df: pl.DataFrame) -> pl.DataFrame:
    """Empty strings → null, so they are written as empty fields, as the tools do."""
    return df.with_columns(pl.col(pl.Utf8).replace("", None))


def _write_excel_de(df: pl.DataFrame, path: Path) -> None:
    """Write as German Excel saves CSV: `;`, CRLF, Windows-1252."""
    text = df.pipe(_blank).write_csv(separator=";", null_value="", line_terminator="\r\n")
    path.write_bytes(text.encode("cp1252", errors="replace"))
