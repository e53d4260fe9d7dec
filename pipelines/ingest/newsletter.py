"""Newsletter exports (Mailchimp audience ZIP and campaign activity).

Which exports are recognised, and under which headers, is defined by the `newsletter`
profiles in pipelines/formats/profiles.py; adding a tool means adding a profile there.
"""

from pipelines.ingest.assets import build_ingest_assets

ingest_newsletter = build_ingest_assets("newsletter")
