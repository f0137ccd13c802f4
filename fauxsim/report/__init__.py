"""``fauxsim report``: read a dataset's output, audit it against its scenario, draw a page.

``reading.py`` loads files or a Postgres database into DuckDB tables of each row's latest
state; ``traffic_checks.py``, ``behaviour_checks.py`` and ``order_checks.py`` hold every
configured quantity against what the data shows (``checks.py``: a check; ``stats.py``: the
tolerances); ``audit.py`` runs them all; ``charts.py`` and ``page.py`` draw the HTML page.
"""
