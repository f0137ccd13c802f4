"""The compiled parts and their Python twins give the same data on random scenarios that
switch every optional feature on (price changes, calendar sales, segments, coupons, payment
failures, cart edits, recovered carts, cancellations, returns, every kind of dwell time,
every quirk, a shard of several): events and every row version, and the Arrow columns
of every table.

A twin test on the default scenario alone cannot see a feature that is off by default.
``FAUXSIM_FUZZ_EXAMPLES`` sets how many scenarios each test draws: ``tools/sanitized_fuzz.sh``
runs them, with the C parts built under AddressSanitizer and UBSan, by the hundred.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fauxsim.simulation import audience, sampling, session
from fauxsim.simulation.compiled_parts import CompiledParts
from fauxsim.simulation.shards import Shard
from fauxsim.sinks.files import arrow_columns
from fauxsim.tables import TABLES_BY_NAME
from tests.simulation.helpers import collect, small_scenario

if TYPE_CHECKING:
    from collections.abc import Iterator

# The simulation's compiled parts (read when a Simulation is built: CompiledParts).
SIMULATION_TWINS = (session, sampling, audience)

pytestmark = pytest.mark.skipif(
    not all(module.COMPILED for module in (*SIMULATION_TWINS, arrow_columns)),
    reason="the compiled parts are not built in this install",
)


@contextmanager
def python_twins() -> Iterator[None]:
    """Every simulation part in Python within (hypothesis forbids ``monkeypatch`` here)."""
    saved = [module.COMPILED for module in SIMULATION_TWINS]
    try:
        for module in SIMULATION_TWINS:
            module.COMPILED = False
        yield
    finally:
        for module, flag in zip(SIMULATION_TWINS, saved, strict=True):
            module.COMPILED = flag


EXAMPLES = int(os.environ.get("FAUXSIM_FUZZ_EXAMPLES", "12"))
probabilities = st.floats(min_value=0.0, max_value=0.6)
# Quirk rates: none, vanishing ones (gaps beyond any run), or up to 10%.
rates = st.one_of(st.just(0.0), st.floats(min_value=1e-308, max_value=0.1))


@st.composite
def distributions(draw: st.DrawFn, scale: float) -> dict[str, Any]:
    """Every kind of distribution, lognormal with and without a cap."""
    kind = draw(st.sampled_from(["lognormal", "lognormal_capped", "constant", "uniform", "exp"]))
    median = draw(st.floats(min_value=0.05, max_value=2.0)) * scale
    if kind == "constant":
        return {"type": "constant", "value": median}
    if kind == "uniform":
        return {"type": "uniform", "low": median / 2, "high": median * 2}
    if kind == "exp":
        return {"type": "exponential", "mean": median}
    sigma = draw(st.floats(min_value=0.1, max_value=1.5))
    capped = {"max": median * 3} if kind == "lognormal_capped" else {}
    return {"type": "lognormal", "median": median, "sigma": sigma, **capped}


@st.composite
def scenarios(draw: st.DrawFn) -> Any:
    pages = ["landing", "category", "search", "product", "cart", "checkout", "payment"]
    dwell = {page: draw(distributions(30)) for page in draw(st.sets(st.sampled_from(pages)))}
    return small_scenario(
        seed=draw(st.integers(min_value=0, max_value=2**32)),
        shards=draw(st.integers(min_value=1, max_value=3)),  # strided ids in a shard of several
        end="2024-03-03",
        catalog={
            "generate": {"count": draw(st.integers(min_value=3, max_value=30))},
            "price_changes": [{"at": "2024-03-02", "until": "2024-03-03", "percent": -15}],
        },
        traffic={
            "sessions_per_day": draw(st.integers(min_value=50, max_value=400)),
            "calendar": [
                {
                    "name": "Sale",
                    "date": "2024-03-02",
                    "days": 0.5,
                    "traffic_multiplier": 2,
                    "price_change_percent": -20,
                }
            ],
        },
        audience={
            "existing_customers": draw(st.integers(min_value=0, max_value=60)),
            "returning_share": draw(probabilities),
            "return_gap_days": draw(distributions(0.5)),
        },
        behaviour={
            "dwell_seconds": dwell,
            "cart": {
                "remove_probability": draw(probabilities),
                "change_quantity_probability": draw(probabilities),
                "recover_probability": draw(probabilities),
            },
            "accounts": {
                "login_probability": draw(probabilities),
                "early_signup_probability": draw(probabilities),
            },
            "segments": [
                {"device": "mobile", "behaviour": {"funnel": {"cart": {"checkout": 0.3}}}},
            ],
        },
        orders={
            "payment_failure_probability": draw(probabilities),
            "coupons": [{"code": "SAVE10", "percent_off": 10, "weight": 1}],
            "lifecycle": {
                "cancel_probability": draw(probabilities),
                "return_probability": draw(probabilities),
                "deliver_delay_days": draw(distributions(0.3)),
            },
        },
        quirks={
            "duplicate_events": draw(rates),
            "late_arrivals": {"probability": draw(rates)},
            "null_fields": draw(rates),
            "keep_removed_cart_items": draw(st.booleans()),
        },
    )


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.integers(min_value=0, max_value=2))
def test_compiled_and_python_simulations_give_the_same_data(scenario, index):
    assert CompiledParts.chosen() == CompiledParts(visits=True, sampler=True, returning_queue=True)
    shard = Shard(index % scenario.shards, scenario.shards)
    compiled = collect(scenario, shard=shard)
    with python_twins():
        assert CompiledParts.chosen() == CompiledParts(
            visits=False, sampler=False, returning_queue=False
        )
        python = collect(scenario, shard=shard)
    assert compiled.events == python.events
    assert compiled.versions == python.versions
    assert len(compiled.events) > 0


@settings(
    max_examples=max(1, EXAMPLES // 2), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(scenarios())
def test_compiled_and_python_row_converters_give_the_same_columns(scenario):
    output = collect(scenario, shard=Shard(0, scenario.shards))
    for name, rows in output.versions.items():
        if not rows:
            continue
        spec = TABLES_BY_NAME[name]
        schema = arrow_columns.arrow_schema(spec)
        compiled = arrow_columns.compiled_arrays(spec, list(rows), schema)
        python = arrow_columns.python_arrays(spec, list(rows), schema)
        assert compiled == python, name
