"""The scenario's cross-section checks, run again on what is valid in a broken scenario.

pydantic runs ``Scenario._consistent`` only once every field is valid, so an end before
the start or a segment naming an unknown device went unreported beside a bad
probability elsewhere, even in the same section. Each check is run again here on a
*probe*: a scenario holding only the values that one check reads, for the window, one
segment or one calendar event, and stand-ins for everything else that no check can
object to (a one-day window, segments and events that change nothing).

A probe whose own values are invalid is dropped: those errors are reported already, and
judging the rest against stand-ins would invent problems (a segment's device compared
with the default devices, say, when ``audience.devices`` is not a mapping at all).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import ValidationError

from fauxsim.scenario.model import Scenario
from fauxsim.scenario.rules import violations_in

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

Data = dict[str | int, object]

# Stand-ins: a valid window, a segment and a calendar event with nothing to check.
_WINDOW: Data = {"start": dt.date(2000, 1, 1), "end": dt.date(2000, 1, 2)}
_QUIET_SEGMENT: Data = {"behaviour": {}}
_QUIET_EVENT: Data = {"name": "stand-in", "date": dt.date(2000, 1, 1)}


def cross_section_failures(
    data: Mapping[str | int, object], failed: ValidationError
) -> list[ValidationError]:
    """The cross-section checks that ``failed`` skipped, each on the valid values it reads."""
    errors = failed.errors()
    if any(not details["loc"] for details in errors):
        return []  # the checks ran (and failed): every field was valid
    found = [_checks_failed(probe) for probe in _probes(data)]
    if any(details["loc"][0] == "timezone" for details in errors):
        found.append(_window_without_timezone(data))
    return [error for error in found if error is not None]


def _checks_failed(probe: Data) -> ValidationError | None:
    """Why ``probe`` fails the cross-section checks; None if it passes them or never got there."""
    try:
        Scenario.model_validate(probe)
    except ValidationError as error:
        # Field errors mean the probe's own values are broken, and the checks did not run.
        return error if all(not details["loc"] for details in error.errors()) else None
    return None


def _window_without_timezone(data: Mapping[str | int, object]) -> ValidationError | None:
    """The window check beside a broken timezone, kept if the timezone did not count.

    It only counts when one end has its own UTC offset and the other does not (see
    ``Scenario._window_violations``); otherwise any timezone orders the two alike.
    """
    failure = _checks_failed({key: data[key] for key in ("start", "end") if key in data})
    if failure is None:
        return None
    reads = {
        read
        for details in failure.errors()
        for violation in violations_in(details.get("ctx"))
        for read in violation.reads
    }
    return None if ("timezone",) in reads else failure


def _probes(data: Mapping[str | int, object]) -> Iterator[Data]:
    """One probe per check and per segment or calendar event it looks at.

    Keep in step with ``Scenario._consistent``: what a probe copies is what its check reads.
    """
    yield {key: data[key] for key in ("start", "end", "timezone") if key in data}
    behaviour = _mapping(data.get("behaviour", {}))
    if behaviour is None:
        return  # `behaviour` itself is wrong: there is no funnel or segment to judge
    base_funnel: Data = {"funnel": behaviour["funnel"]} if "funnel" in behaviour else {}
    audience = _mapping(data.get("audience", {}))
    traffic = _mapping(data.get("traffic", {}))
    for number, segment in _mappings(behaviour.get("segments")):
        quiet = [_QUIET_SEGMENT] * number  # keeps the segment's number, so its place
        if audience is not None:
            yield from _segment_name_probes(quiet, segment, audience)
        funnel = _override_funnel(segment)
        if funnel is not None:
            segments = [*quiet, {"behaviour": funnel}]
            yield {**_WINDOW, "behaviour": {**base_funnel, "segments": segments}}
    for number, event in _mappings(traffic.get("calendar") if traffic is not None else None):
        funnel = _override_funnel(event)
        if funnel is not None:
            label = {"name": event["name"]} if "name" in event else {}
            calendar = [*[_QUIET_EVENT] * number, {**_QUIET_EVENT, **label, "behaviour": funnel}]
            yield {**_WINDOW, "behaviour": base_funnel, "traffic": {"calendar": calendar}}


def _segment_name_probes(quiet: list[Data], segment: Data, audience: Data) -> Iterator[Data]:
    """A probe of the device and of the channel the segment names, against the listed names.

    Only the names are read, so a broken weight does not keep them from being checked.
    """
    for key, listed_key, stand_in in (
        ("device", "devices", 1.0),
        ("channel", "channels", {"weight": 1.0}),
    ):
        if key not in segment:
            continue
        written = audience.get(listed_key)
        if listed_key not in audience:
            listed: Data = {}  # the defaults are the real list
        elif isinstance(written, dict):
            listed = {listed_key: dict.fromkeys(written, stand_in)}
        else:
            continue  # no names to compare with (the mistake is reported already)
        named = {key: segment[key], "behaviour": {}}
        yield {**_WINDOW, "audience": listed, "behaviour": {"segments": [*quiet, named]}}


def _override_funnel(item: Mapping[str | int, object]) -> Data | None:
    """``{"funnel": ...}`` of a segment's or event's behaviour, if it changes the funnel.

    Without one the funnel is the base funnel, which its own validation judges.
    """
    behaviour = _mapping(item.get("behaviour"))
    if behaviour is None or "funnel" not in behaviour:
        return None
    return {"funnel": behaviour["funnel"]}


def _mapping(value: object) -> Data | None:
    return value if isinstance(value, dict) else None


def _mappings(value: object) -> Iterator[tuple[int, Data]]:
    """The numbered items of a list that are mappings (the others are reported already)."""
    if isinstance(value, list):
        for number, item in enumerate(value):
            if isinstance(item, dict):
                yield number, item
