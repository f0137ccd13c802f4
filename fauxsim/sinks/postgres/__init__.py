"""The Postgres sink: schema, migrations, binary COPY loading and the runs ledger."""
