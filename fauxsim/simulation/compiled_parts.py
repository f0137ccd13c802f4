"""Which compiled parts (``_visit.c``) a simulation uses: chosen once, when it is built.

Each part is used where the extension was built and its module's ``COMPILED`` flag is on
(tests and benchmarks turn a flag off to run the Python twin). A :class:`Simulation` reads
the flags once, into a :class:`CompiledParts`, and its samplers and visits
are made from that: a flag changed while a run goes on changes nothing in it, so no run is
ever half compiled, half Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from fauxsim.simulation import sampling, session


@dataclass(frozen=True, slots=True)
class CompiledParts:
    """Whether each compiled part is used (else its Python twin, with the same output)."""

    visits: bool  # _visit.Arrivals and Draws (twins in engine.py, randomness.py)
    sampler: bool  # _visit.WholeLogNormal (twin: the closure in sampling.whole_sampler)

    @classmethod
    def chosen(cls) -> CompiledParts:
        """What this install has and the modules' flags allow, read now."""
        return cls(
            visits=session.COMPILED and session.Arrivals is not None,
            sampler=sampling.COMPILED and sampling.WholeLogNormal is not None,
        )
