"""Shop exports (Shopify orders export: orders, line items, refunds).

Which exports are recognised, and under which headers, is defined by the `shop`
profiles in pipelines/formats/profiles.py; adding a tool means adding a profile there.
"""

from pipelines.ingest.assets import build_ingest_assets

ingest_shop = build_ingest_assets("shop")
