"""SQL text built in Python (DuckDB statements that take no parameters: COPY, read_csv
options, expressions inlined into generated SQL)."""


def sql_literal(value: str) -> str:
    """`value` as an SQL string literal: in single quotes, each quote doubled."""
    return "'" + value.replace("'", "''") + "'"
