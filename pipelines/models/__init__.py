"""Statistical models that run between dbt models (predictive CLV)."""
