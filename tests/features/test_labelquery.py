"""The label query language shared by listings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from host.features.labelquery import QueryError, flatten, parse, term

DOC = {
    **flatten("label", {"mode": "duo", "rank": 5, "ranked": True, "tags": ["eu", "two words"], "meta": {"map": "dust*2"}, "none": None}),
    "open": [True],
    "create_time": [datetime(2026, 6, 1, tzinfo=UTC)],
}


def test_flatten_nests_with_dots_and_lists_add_values():
    assert flatten("label", {"a": {"b": 1}, "l": [1, {"c": "x"}], "n": None}) == {"label.a.b": [1], "label.l": [1], "label.l.c": ["x"]}


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("", True),
        ("*", True),
        ("label.mode:duo", True),
        ("label.mode:Duo", False),  # keywords are exact and case-sensitive
        ("label.rank:5", True),
        ("label.rank:5.0", True),
        ("label.rank:>4", True),
        ("label.rank:>5", False),
        ("label.rank:>=5", True),
        ("label.rank:<=-1", False),
        ("label.rank:>-10", True),
        ("label.ranked:T", True),
        ("label.ranked:true", True),
        ("label.ranked:F", False),
        ("label.tags:eu", True),
        ('label.tags:"two words"', True),
        ("label.tags:two", False),
        ("label.mode:d?o", True),
        ("label.mode:*u*", True),
        ("label.mode:x*", False),
        (r"label.meta.map:dust\*2", True),
        (r"label.meta.map:dust\*", False),
        ("label.meta.map:dust*", True),
        ('create_time:>="2026-01-01T00:00:00Z"', True),
        ('create_time:<"2026-01-01T00:00:00Z"', False),
        ("label.mode:duo label.mode:solo", True),  # one should-clause is enough
        ("label.mode:solo label.mode:trio", False),
        ("+label.mode:duo label.mode:solo", True),  # with a must, shoulds only score
        ("+label.mode:duo -label.rank:5", False),
        ("-label.mode:solo", True),  # only must-not: everything else
        ("duo", False),  # a term without a field matches nothing
        ("label.missing:x", False),
        ("label.rank:>=5^2", True),
    ],
)
def test_matching(query, matches):
    assert (parse(query).score(DOC) is not None) is matches


def test_scores_count_matching_clauses_and_boosts():
    assert parse("+label.mode:duo label.rank:5 label.tags:eu^3 label.tags:asia").score(DOC) == 5.0


def test_filters_keep_the_query_meaning():
    q = parse("label.mode:solo label.mode:trio").filtered(term("open", True))
    assert q.score(DOC) is None  # the shoulds still need one hit
    assert parse("label.mode:duo").filtered(term("open", False)).score(DOC) is None
    assert parse("").filtered(term("label.rank", 5)).score(DOC) == 0.0


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("label.mode:/d.o/", "regular expressions are not supported"),
        ("duo~1", "fuzzy terms are not supported"),
        ('label.mode:"open', "unterminated quote"),
        (":x", "empty field name"),
        ("label.mode:", "missing value"),
        ("label.rank:>x", "a range value must be a number or a quoted date"),
        ('label.rank:>"soon"', "a quoted range value must be an RFC 3339 date"),
        ("label.rank:5^x", "a boost must be a number"),
        ("label.mode:a\\", "dangling escape"),
    ],
)
def test_errors_say_what_and_where(query, error):
    with pytest.raises(QueryError, match=error):
        parse(query)


def test_wildcards_are_linear_not_backtracking():
    """A pattern a regex engine takes exponential time on answers at once."""
    doc = {"f": ["a" * 3000]}
    assert parse("f:" + "*a" * 30 + "*b").score(doc) is None
    assert parse("f:" + "*a" * 30 + "*").score(doc) is not None
