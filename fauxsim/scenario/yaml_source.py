"""Reading scenario YAML while remembering where every key and value was written.

PyYAML composes a node tree whose marks carry line and column; we construct the data
from that tree and index it by key path, so that a validation error on
``traffic.calendar.0.days`` can point at the exact spot in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

if TYPE_CHECKING:
    from fauxsim.scenario.rules import Loc

_BOOL_TAG = "tag:yaml.org,2002:bool"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _ScenarioLoader(yaml.SafeLoader):
    """A SafeLoader that reads booleans the YAML 1.2 way and never fails without a mark."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:  # noqa: ANN401 - PyYAML's signature
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, OverflowError, LookupError) as error:
            # e.g. `!!int twelve`: an explicit tag on a value that cannot have it.
            problem = f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]}: {error}"
            raise ConstructorError(None, None, problem, node.start_mark) from None


def _timestamp_or_text(loader: yaml.SafeLoader, node: ScalarNode) -> object:
    """A date or datetime; text shaped like one but impossible (2025-02-30) stays text.

    Pydantic then rejects the text with its key path and position, among all the other
    problems, instead of PyYAML stopping at the first impossible date.
    """
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError:
        return node.value


_ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_or_text)

# YAML 1.1 reads yes/no/on/off as booleans, so the country code `NO` (Norway) would
# become False. Only true and false are booleans here, as in YAML 1.2.
_ScenarioLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ScenarioLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass(frozen=True, slots=True, order=True)
class Position:
    """A place in the text, both counted from 1 as editors show them."""

    line: int
    column: int

    @classmethod
    def of(cls, mark: yaml.Mark) -> Position:
        return cls(mark.line + 1, mark.column + 1)


@dataclass(frozen=True, slots=True)
class Spot:
    """Where a key path was written: its key (absent for list items) and its value."""

    key: Position | None
    value: Position
    block: bool  # a block mapping or list spanning lines: errors point at its key

    @property
    def best(self) -> Position:
        """The position an error about this value should name."""
        if self.block and self.key is not None:
            return self.key
        return self.value


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    loc: Loc
    at: Position
    first: Position


@dataclass(frozen=True, slots=True)
class ParsedYaml:
    data: object
    spots: dict[Loc, Spot] = field(default_factory=dict)
    duplicates: tuple[DuplicateKey, ...] = ()


def parse_yaml(text: str) -> ParsedYaml:
    """The document's data with the position of every key path.

    Raises ``yaml.YAMLError`` for broken YAML (with a mark where PyYAML knows one).
    """
    loader = _ScenarioLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return ParsedYaml(None)
        duplicates = tuple(_find_duplicates(loader, node, (), set()))
        data = loader.construct_document(node)
        spots: dict[Loc, Spot] = {}
        # After construction, merge keys (<<) are already folded into each mapping node.
        _index(loader, node, (), spots, set())
        return ParsedYaml(data, spots, duplicates)
    finally:
        loader.dispose()


def _key_of(loader: _ScenarioLoader, key_node: Node) -> str | int | None:
    """A scalar key as the data holds it; None for keys a path cannot name."""
    if not isinstance(key_node, ScalarNode):
        return None
    key = loader.construct_object(key_node)
    return key if isinstance(key, str | int) else None


def _index(
    loader: _ScenarioLoader, node: Node, loc: Loc, spots: dict[Loc, Spot], active: set[int]
) -> None:
    if id(node) in active:  # an alias that refers to its own ancestor
        return
    active.add(id(node))
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            key = _key_of(loader, key_node)
            if key is None:
                continue
            spots[(*loc, key)] = Spot(
                Position.of(key_node.start_mark),
                Position.of(value_node.start_mark),
                _is_block(value_node),
            )
            _index(loader, value_node, (*loc, key), spots, active)
    elif isinstance(node, SequenceNode):
        for number, item in enumerate(node.value):
            spots[(*loc, number)] = Spot(None, Position.of(item.start_mark), _is_block(item))
            _index(loader, item, (*loc, number), spots, active)
    active.discard(id(node))


def _find_duplicates(
    loader: _ScenarioLoader, node: Node, loc: Loc, active: set[int]
) -> list[DuplicateKey]:
    """Keys written twice in one mapping: PyYAML silently keeps the last one."""
    if id(node) in active or not isinstance(node, CollectionNode):
        return []
    active.add(id(node))
    found: list[DuplicateKey] = []
    if isinstance(node, MappingNode):
        seen: dict[tuple[str, str], Position] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag == _MERGE_TAG:
                continue
            here = Position.of(key_node.start_mark)
            first = seen.setdefault((key_node.tag, key_node.value), here)
            key = _key_of(loader, key_node)
            child = (*loc, key if key is not None else key_node.value)
            if first != here:
                found.append(DuplicateKey(child, here, first))
            found += _find_duplicates(loader, value_node, child, active)
    else:
        for number, item in enumerate(node.value):
            found += _find_duplicates(loader, item, (*loc, number), active)
    active.discard(id(node))
    return found


def _is_block(node: Node) -> bool:
    return isinstance(node, CollectionNode) and not node.flow_style


def parse_value(text: str) -> object:
    """One value written on the command line, read as YAML (``5``, ``true``, ``[1, 2]``)."""
    return parse_yaml(text).data
