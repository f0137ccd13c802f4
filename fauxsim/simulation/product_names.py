"""Names for generated products: words that fit the category, each name once while they last."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fauxsim.simulation.wordlists import (
    ADJECTIVES,
    CATEGORY_ALIASES,
    CATEGORY_WORDS,
    GENERIC_DETAILS,
    GENERIC_NOUNS,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from fauxsim.randomness import RandomStream

# Draws of a style and a noun (and a detail) before a name may repeat: a category's
# combinations (about a thousand) last far beyond any bundled catalog.
_ATTEMPTS = 12

Words = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def category_words(category: str) -> Words:
    """(styles, details, nouns) for ``category``: its own words, or the generic ones around
    its name ("Premium Widgets Gift Set")."""
    key = category.lower().replace("-", "_")
    key = CATEGORY_ALIASES.get(key, key)
    words = CATEGORY_WORDS.get(key) or CATEGORY_WORDS.get(key.replace(" ", "_"))
    if words is not None:
        return words
    title = category.replace("_", " ").strip().title()
    return ADJECTIVES, GENERIC_DETAILS, tuple(f"{title} {noun}" for noun in GENERIC_NOUNS)


def _clash(one: str, other: str) -> bool:
    """Whether two parts of a name share a word ("Smart" and "Smart Speaker")."""
    return not set(one.lower().split()).isdisjoint(other.lower().split())


class ProductNamer:
    """Names "<style> <noun>", or "<style> <detail> <noun>" when that one is taken, drawn
    from ``rng``; a name repeats only once a dozen draws found none free."""

    def __init__(self, rng: RandomStream, taken: Iterable[str] = ()) -> None:
        self._rng = rng
        self._taken = set(taken)  # the listed products' names among them

    def name(self, category: str) -> str:
        styles, details, nouns = category_words(category)
        randrange = self._rng.randrange
        name = ""
        for _ in range(_ATTEMPTS):
            style, noun = styles[randrange(len(styles))], nouns[randrange(len(nouns))]
            if _clash(style, noun):
                continue
            name = f"{style} {noun}"
            if name not in self._taken:
                break
            detail = details[randrange(len(details))]
            if _clash(detail, noun) or _clash(detail, style):
                continue
            name = f"{style} {detail} {noun}"
            if name not in self._taken:
                break
        if not name:  # every draw clashed (a category of one word): the noun alone
            name = nouns[0]
        self._taken.add(name)
        return name
