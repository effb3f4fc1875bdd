"""Counting words: one place that gets "1 rule" / "3 rules" and "1 of 1 rule" right.

A leaf module (it imports nothing of ours), so check tasks and channels can both use it without breaking the
import rules in docs/architecture.md.
"""

from __future__ import annotations

__all__ = ["all_of", "count_of", "plural"]

_IRREGULAR: dict[str, str] = {"index": "indices", "entry": "entries", "query": "queries", "was": "were"}
"""Plurals the ``s`` rule gets wrong, for the nouns our texts count."""


def _plural_noun(noun: str) -> str:
    # Only the last word agrees with the number: "expected column" -> "expected columns".
    head, _, last = noun.rpartition(" ")
    if last in _IRREGULAR:
        word = _IRREGULAR[last]
    elif last.endswith(("s", "x", "sh", "ch")):
        word = last + "es"
    else:
        word = last + "s"
    return f"{head} {word}" if head else word


def plural(count: int | float, noun: str, plural_form: str | None = None) -> str:
    """``count`` and ``noun``, the noun plural unless the count is exactly 1 (thousands separated).

    >>> plural(1, "rule"), plural(3, "rule"), plural(0, "column"), plural(1_500, "row")
    ('1 rule', '3 rules', '0 columns', '1,500 rows')
    >>> plural(2, "expected column"), plural(2, "index")
    ('2 expected columns', '2 indices')
    """
    word = noun if count == 1 else (plural_form or _plural_noun(noun))
    number = f"{int(count):,}" if float(count).is_integer() else f"{count:,.6g}"
    return f"{number} {word}"


def count_of(part: int, whole: int, noun: str, plural_form: str | None = None) -> str:
    """``part`` of ``whole`` things, the noun agreeing with the whole: "1 of 1 rule", "1 of 3 rules".

    >>> count_of(1, 1, "rule"), count_of(2, 5, "column"), count_of(0, 1, "metric")
    ('1 of 1 rule', '2 of 5 columns', '0 of 1 metric')
    """
    return f"{part:,} of {plural(whole, noun, plural_form)}"


def all_of(count: int, noun: str, plural_form: str | None = None) -> str:
    """Every one of ``count`` things: "the 1 rule", "both rules", "all 3 rules" (and "no rules" for 0).

    >>> all_of(1, "rule"), all_of(2, "rule"), all_of(3, "rule"), all_of(0, "rule")
    ('the 1 rule', 'both rules', 'all 3 rules', 'no rules')
    """
    if count == 0:
        return f"no {plural_form or _plural_noun(noun)}"
    if count == 1:
        return f"the {plural(1, noun)}"
    if count == 2:
        return f"both {plural_form or _plural_noun(noun)}"
    return f"all {plural(count, noun, plural_form)}"
