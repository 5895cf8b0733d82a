"""Match listing queries: the subset of Nakama's label query syntax (features §5.7) nkhost speaks.

Nakama indexes each match with bluge and parses queries with ``query_string`` over a
keyword analyzer (exact, case-sensitive). Labels are small and a node holds hundreds of
matches, so here a match is a flat ``Document`` (field -> keywords, numbers, dates) and a
query is a list of clauses tested against each document in turn; no inverted index.

Syntax: space-separated clauses, each optionally prefixed ``+`` (must) or ``-`` (must not);
without a prefix a clause is "should" (a query of only should clauses needs one to match;
beside a ``+`` clause they only add score). A clause is ``field:value`` (exact keyword, or
the number when the value is one), ``field:"a phrase"``, ``field:a*b?`` (wildcard),
``field:>5`` / ``>=`` / ``<`` / ``<=`` (numbers, negatives allowed, or a quoted RFC 3339
date), or ``*`` alone (every match); ``\\`` escapes the next character and ``^N`` after a
value boosts its score. A term without a field matches nothing, as in Nakama. Regular
expressions (``/re/``) and fuzzy terms are not supported: a client-supplied regex is a
backtracking risk in Python's ``re`` (bluge's are linear).

Fields: ``node``, ``label_string`` (the whole label), ``tick_rate``, ``handler_name``,
``create_time`` (ms), and for a label that is a JSON object ``label.<key>`` (nested
``label.a.b``): strings are keywords (RFC 3339 strings are dates too), numbers are numbers,
booleans the keywords ``T``/``F``, arrays hold several values.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

__all__ = ["Document", "Query", "QueryError", "parse_query", "document"]


class QueryError(ValueError):
    """The query text cannot be parsed; the message says where."""


@dataclass(slots=True)
class Document:
    keywords: dict[str, set[str]] = field(default_factory=dict)
    numbers: dict[str, list[float]] = field(default_factory=dict)
    dates: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, value: Any) -> None:
        if value is None:
            return
        if value is True or value is False:
            self.keywords.setdefault(name, set()).add("T" if value else "F")
        elif isinstance(value, (int, float)):
            self.numbers.setdefault(name, []).append(float(value))
        elif isinstance(value, str):
            self.keywords.setdefault(name, set()).add(value)
            when = _date(value)
            if when is not None:
                self.dates.setdefault(name, []).append(when)
        elif isinstance(value, list):
            for item in value:
                self.add(name, item)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.add(f"{name}.{key}", item)


def document(label: str, node: str, tick_rate: int, handler_name: str, create_time: int) -> Document:
    """The indexed form of one authoritative match."""
    doc = Document()
    doc.add("node", node)
    doc.add("label_string", label)
    doc.add("tick_rate", tick_rate)
    doc.add("handler_name", handler_name)
    doc.add("create_time", create_time)
    if label.startswith("{"):
        try:
            parsed = orjson.loads(label)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            doc.add("label", parsed)
    return doc


_DATE_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _date(text: str) -> float | None:
    if not _DATE_SHAPE.match(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("z", "Z")).timestamp()
    except ValueError:
        return None


# Clauses -------------------------------------------------------------------------------------

MUST, SHOULD, MUST_NOT = "+", "", "-"


@dataclass(slots=True, frozen=True)
class _Clause:
    occur: str
    field: str | None  # None: the whole document (*) or a bare term (matches nothing)
    kind: str  # "all", "term", "glob", "range", "none"
    value: Any = None  # term text, glob pattern, or (op, bound, is_date)
    boost: float = 1.0

    def matches(self, doc: Document) -> bool:
        kind = self.kind
        if kind == "all":
            return True
        if kind == "none" or self.field is None:
            return False
        if kind == "term":
            text = self.value
            if text in doc.keywords.get(self.field, ()):
                return True
            number = _number(text)
            return number is not None and number in doc.numbers.get(self.field, ())
        if kind == "glob":
            return any(_glob(self.value, k) for k in doc.keywords.get(self.field, ()))
        op, bound, is_date = self.value
        values = doc.dates.get(self.field, ()) if is_date else doc.numbers.get(self.field, ())
        return any(_compare(op, v, bound) for v in values)


def _compare(op: str, value: float, bound: float) -> bool:
    if op == ">":
        return value > bound
    if op == ">=":
        return value >= bound
    if op == "<":
        return value < bound
    return value <= bound


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _glob(pattern: list[tuple[str, bool]], text: str) -> bool:
    """Wildcard match in O(len(pattern) * len(text)): ``*`` any run, ``?`` one character.

    ``pattern`` holds (character, is_wildcard) pairs, so an escaped ``\\*`` is a literal star.
    """
    p = t = 0
    star = -1
    mark = 0
    while t < len(text):
        if p < len(pattern) and (pattern[p] == ("?", True) or (not pattern[p][1] and pattern[p][0] == text[t])):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == ("*", True):
            star, mark = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == ("*", True):
        p += 1
    return p == len(pattern)


# Parsing ---------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Query:
    clauses: tuple[_Clause, ...]

    def score(self, doc: Document) -> float | None:
        """The document's score, or None when it does not match."""
        score = 0.0
        should = 0.0
        has_must = has_should = False
        for clause in self.clauses:
            hit = clause.matches(doc)
            if clause.occur == MUST:
                has_must = True
                if not hit:
                    return None
                score += clause.boost
            elif clause.occur == MUST_NOT:
                if hit:
                    return None
            else:
                has_should = True
                if hit:
                    should += clause.boost
        if has_should and not has_must and should == 0.0:
            return None
        return score + should


def parse_query(text: str) -> Query:
    """Parse a query; raises QueryError. An empty query matches every match."""
    return Query(tuple(_parse_clause(token, start) for token, start in _tokens(text)))


def _tokens(text: str) -> Iterable[tuple[list[tuple[str, bool]], int]]:
    """Split on unescaped whitespace outside quotes: each token as (character, escaped) pairs
    (a quote character inside stays in the token, marked unescaped)."""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            return
        start = i
        chars: list[tuple[str, bool]] = []
        quoted = False
        while i < n and (quoted or not text[i].isspace()):
            c = text[i]
            if c == "\\":
                if i + 1 >= n:
                    raise QueryError(f"a '\\' at position {i} escapes nothing")
                chars.append((text[i + 1], True))
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            chars.append((c, False))
            i += 1
        if quoted:
            raise QueryError(f"unterminated quote in the clause at position {start}")
        yield chars, start


def _plain(chars: list[tuple[str, bool]]) -> str:
    return "".join(c for c, _ in chars)


def _parse_clause(chars: list[tuple[str, bool]], start: int) -> _Clause:
    occur = SHOULD
    if chars and chars[0] in (("+", False), ("-", False)):
        occur = chars[0][0]
        chars = chars[1:]
        if not chars:
            raise QueryError(f"'{occur}' at position {start} has no term")
    boost = 1.0
    chars, boost = _boost(chars, start)
    if chars == [("*", False)]:
        return _Clause(occur, None, "all", boost=boost)
    colon = next((i for i, (c, esc) in enumerate(chars) if c == ":" and not esc), None)
    if colon is None:
        return _Clause(occur, None, "none", boost=boost)  # a bare term: no default field
    name = _plain(chars[:colon])
    value = chars[colon + 1:]
    if not name or '"' in name:
        raise QueryError(f"the clause at position {start} has no field name")
    if not value:
        raise QueryError(f"the clause at position {start} has no value for field '{name}'")
    if value[0] == ("/", False):
        raise QueryError(f"regular expressions are not supported (clause at position {start})")
    for op in (">=", "<=", ">", "<"):
        if _plain(value[: len(op)]) == op and not any(esc for _, esc in value[: len(op)]):
            return _Clause(occur, name, "range", _range(op, value[len(op):], start), boost)
    if value[0] == ('"', False):
        if len(value) < 2 or value[-1] != ('"', False):
            raise QueryError(f"a phrase must be the whole value (clause at position {start})")
        return _Clause(occur, name, "term", _plain(value[1:-1]), boost)
    if any(c == '"' and not esc for c, esc in value):
        raise QueryError(f"a quote inside a value must be escaped (clause at position {start})")
    if any(c in "*?" and not esc for c, esc in value):
        return _Clause(occur, name, "glob", [(c, c in "*?" and not esc) for c, esc in value], boost)
    return _Clause(occur, name, "term", _plain(value), boost)


def _boost(chars: list[tuple[str, bool]], start: int) -> tuple[list[tuple[str, bool]], float]:
    """Split a trailing unescaped, unquoted ``^N``."""
    for i in range(len(chars) - 1, -1, -1):
        c, esc = chars[i]
        if c == '"' and not esc:
            break
        if c == "^" and not esc:
            try:
                boost = float(_plain(chars[i + 1:]))
            except ValueError:
                raise QueryError(f"bad boost in the clause at position {start}") from None
            if not math.isfinite(boost) or boost < 0:
                raise QueryError(f"bad boost in the clause at position {start}")
            return chars[:i], boost
    return chars, 1.0


def _range(op: str, bound: list[tuple[str, bool]], start: int) -> tuple[str, float, bool]:
    text = _plain(bound)
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        when = _date(text[1:-1])
        if when is None:
            raise QueryError(f"'{text[1:-1]}' is not an RFC 3339 date (clause at position {start})")
        return op, when, True
    number = _number(text)
    if number is None:
        raise QueryError(f"'{text}' is not a number (clause at position {start})")
    return op, number, False
