"""``fauxsim report``: read a dataset's output, audit it against its scenario, draw a page.

Reading (``reading.py``) turns files or a Postgres database into DuckDB views of each row's
latest state; ``measures.py`` asks them what the data shows; ``audit.py`` holds every
configured quantity against its measure; ``charts.py`` and ``page.py`` draw the HTML page.
"""
