"""Ingest: one module per source (shop, crm, newsletter), one asset per source entity."""
