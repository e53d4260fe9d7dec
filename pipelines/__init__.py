"""KundenOrbit: customer-relationship analytics warehouse (Dagster code location)."""
