"""CRM exports (HubSpot contacts, companies, deals, tickets) and customer-feedback surveys.

Which exports are recognised, and under which headers, is defined by the `crm`
profiles in pipelines/formats/profiles.py; adding a tool means adding a profile there.
"""

from pipelines.ingest.assets import build_ingest_assets

ingest_crm = build_ingest_assets("crm")
