"""Vectorised conversions shared by the file sinks."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fauxsim.clock import to_rfc3339
from fauxsim.sinks.files.arrow_columns import arrow_schema, json_texts, timestamp_texts
from fauxsim.tables import EVENTS

YEAR_1900 = -2_208_988_800_000_000
YEAR_10000 = 253_402_300_800_000_000


@given(st.lists(st.none() | st.integers(YEAR_1900, YEAR_10000 - 1), max_size=50))
def test_timestamp_text_is_the_clock_text_for_every_instant(micros):
    """Fixed-width RFC 3339 UTC, six fraction digits even when zero; None stays null."""
    expected = [None if m is None else to_rfc3339(m) for m in micros]

    assert timestamp_texts(micros).to_pylist() == expected


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "1970-01-01T00:00:00.000000Z"),
        (-1, "1969-12-31T23:59:59.999999Z"),
        (1_732_838_400_000_001, "2024-11-29T00:00:00.000001Z"),
    ],
)
def test_timestamp_text_examples(micros, text):
    assert timestamp_texts([micros]).to_pylist() == [text]


def test_json_text_is_compact_and_keeps_unicode():
    texts = json_texts([{"q": "café", "n": [1, None]}, None])

    assert texts.to_pylist() == ['{"q":"café","n":[1,null]}', None]


def test_csv_schema_holds_timestamps_as_text():
    schema = arrow_schema(EVENTS, timestamps_as_text=True)

    assert schema.field("occurred_at").type == pa.string()
    assert arrow_schema(EVENTS).field("occurred_at").type == pa.timestamp("us", tz="UTC")
