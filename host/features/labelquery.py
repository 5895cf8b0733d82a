"""Label queries: the part of Nakama's listing query language (Bluge query strings over a
keyword index) that match and party listings need, over documents held in memory.

A query is clauses separated by spaces. ``+clause`` must match, ``-clause`` must not,
a bare clause should: with no ``+`` clause at least one should-clause has to match, with one
they only add score. A query of only ``-`` clauses, an empty query and ``*`` match everything.

| Clause | Matches a document whose field holds |
|---|---|
| ``field:value`` | the keyword ``value`` exactly (case-sensitive), the number, or the boolean ``T``/``F`` |
| ``field:"two words"`` | that exact keyword, spaces included |
| ``field:a*b?`` | a keyword matching the wildcards (``*`` any run, ``?`` one character) |
| ``field:>5`` ``>=`` ``<`` ``<=`` | a number in range (negatives allowed), or with a quoted RFC 3339 value a date |
| ``clause^2`` | the same, counting twice in the score |

``\\`` escapes the next character. A term without a field matches nothing (as in Nakama,
where such terms hit no indexed field). Regular expressions (``field:/re/``) and fuzzy terms
(``value~1``) are refused: a client's regular expression could stall the server.

Documents are ``{field: [values]}``: a field holds several values when the label had a list.
``flatten`` builds the fields of a JSON label (``label.mode``, nested ``label.a.b``). Values are
str, bool, int/float or datetime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["Query", "Clause", "QueryError", "parse", "flatten", "term", "MATCH_ALL"]

Document = Mapping[str, list[Any]]


class QueryError(ValueError):
    """The query text cannot be parsed; the message says where."""


@dataclass(slots=True, frozen=True)
class Clause:
    field: str | None  # None: a bare term, or ``*`` (op "all")
    op: str  # "all", "term", "wild", ">", ">=", "<", "<="
    text: str  # the term with escapes resolved (for "wild": the pattern)
    number: float | None = None  # the term as a number, when it is one
    date: datetime | None = None  # the term as a date, when quoted RFC 3339
    boost: float = 1.0

    def matches(self, doc: Document) -> bool:
        if self.op == "all":
            return True
        if self.field is None:
            return False
        values = doc.get(self.field)
        if not values:
            return False
        test = _TESTS[self.op]
        return any(test(self, value) for value in values)


def _term(clause: Clause, value: Any) -> bool:
    if type(value) is bool:
        return clause.text in (_TRUE if value else _FALSE)
    if isinstance(value, (int, float)):
        return clause.number is not None and value == clause.number
    if isinstance(value, datetime):
        return clause.date is not None and value == clause.date
    return value == clause.text


_TRUE = frozenset({"T", "true"})
_FALSE = frozenset({"F", "false"})


def _wild(clause: Clause, value: Any) -> bool:
    return type(value) is str and _glob(clause.text, value)


def _ranged(compare: Any) -> Any:
    def test(clause: Clause, value: Any) -> bool:
        if clause.date is not None:
            return isinstance(value, datetime) and compare(value, clause.date)
        return isinstance(value, (int, float)) and type(value) is not bool and compare(value, clause.number)

    return test


_TESTS = {
    "term": _term,
    "wild": _wild,
    ">": _ranged(lambda a, b: a > b),
    ">=": _ranged(lambda a, b: a >= b),
    "<": _ranged(lambda a, b: a < b),
    "<=": _ranged(lambda a, b: a <= b),
}


def _glob(pattern: str, text: str) -> bool:
    """``*``/``?`` matching in O(len(pattern) * len(text)) at worst (no regex backtracking).

    ``pattern`` holds literal characters escaped as ``\\x`` pairs; see ``_Reader``.
    """
    tokens: list[str | None] = []  # None: "*"; "" : "?"; else one literal character
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            tokens.append(pattern[i + 1])
            i += 2
            continue
        tokens.append(None if ch == "*" else "" if ch == "?" else ch)
        i += 1
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(tokens) and tokens[p] is not None and (tokens[p] == "" or tokens[p] == text[t]):
            p += 1
            t += 1
        elif p < len(tokens) and tokens[p] is None:
            star, mark = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(tokens) and tokens[p] is None:
        p += 1
    return p == len(tokens)


@dataclass(slots=True, frozen=True)
class Query:
    must: tuple[Clause, ...] = ()
    should: tuple[Clause, ...] = ()
    must_not: tuple[Clause, ...] = ()
    filters: tuple[Clause, ...] = ()  # required besides the query itself, without changing its meaning

    def score(self, doc: Document) -> float | None:
        """None when the document does not match; else its score (higher first)."""
        for clause in self.filters:
            if not clause.matches(doc):
                return None
        for clause in self.must_not:
            if clause.matches(doc):
                return None
        score = 0.0
        for clause in self.must:
            if not clause.matches(doc):
                return None
            score += clause.boost
        hits = 0
        for clause in self.should:
            if clause.matches(doc):
                hits += 1
                score += clause.boost
        if self.should and not self.must and hits == 0:
            return None
        return score

    def filtered(self, *clauses: Clause) -> Query:
        """This query, and the documents must also match ``clauses`` (a listing's fixed
        filters: ``open``, ``hidden``). Unlike a ``+`` clause in the text, a filter does not
        turn the query's should-clauses into optional ones."""
        return Query(self.must, self.should, self.must_not, (*self.filters, *clauses))


MATCH_ALL = Query()


def term(field: str, value: Any) -> Clause:
    """A required-style clause for a typed value, built in code rather than parsed."""
    if type(value) is bool:
        return Clause(field, "term", "T" if value else "F")
    return Clause(field, "term", str(value), _number(str(value)))


class _Reader:
    """One pass over the text; each clause is [+|-] [field:] [op] value [^boost]."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def fail(self, what: str) -> QueryError:
        return QueryError(f"{what} at offset {self.i}")

    def clauses(self) -> list[tuple[str, Clause]]:
        out = []
        text = self.text
        while True:
            while self.i < len(text) and text[self.i].isspace():
                self.i += 1
            if self.i >= len(text):
                return out
            occur = "should"
            if text[self.i] in "+-":
                occur = "must" if text[self.i] == "+" else "must_not"
                self.i += 1
            out.append((occur, self.clause()))

    def clause(self) -> Clause:
        first, quoted, wild = self.word(stop_at_colon=True)
        field = None
        if self.i < len(self.text) and self.text[self.i] == ":" and not quoted:
            if not first:
                raise self.fail("empty field name")
            field = _unescape(first)
            self.i += 1
            op = "term"
            for candidate in (">=", "<=", ">", "<"):
                if self.text.startswith(candidate, self.i):
                    op = candidate
                    self.i += len(candidate)
                    break
            value, quoted, wild = self.word(stop_at_colon=False)
        else:
            op, value = "term", first
        if not value and not quoted:
            raise self.fail("missing value")
        boost = self.boost()
        if self.i < len(self.text) and not self.text[self.i].isspace():
            raise self.fail(f"unexpected {self.text[self.i]!r}")
        if field is None and not quoted and value == "*":
            return Clause(None, "all", "*", boost=boost)
        if op == "term" and wild:
            return Clause(field, "wild", value, boost=boost)
        literal = value if quoted else _unescape(value)
        if op == "term":
            return Clause(field, "term", literal, _number(literal), _date(literal) if quoted else None, boost)
        if quoted:
            date = _date(literal)
            if date is None:
                raise self.fail("a quoted range value must be an RFC 3339 date")
            return Clause(field, op, literal, None, date, boost)
        number = _number(literal)
        if number is None:
            raise self.fail("a range value must be a number or a quoted date")
        return Clause(field, op, literal, number, None, boost)

    def word(self, stop_at_colon: bool) -> tuple[str, bool, bool]:
        """(text, quoted, has wildcards). Unquoted text keeps its escapes (``\\x``) so wildcard
        patterns can tell a literal ``*`` from a wildcard; quoted text comes back resolved."""
        text = self.text
        if self.i < len(text) and text[self.i] == '"':
            self.i += 1
            out = []
            while self.i < len(text) and text[self.i] != '"':
                if text[self.i] == "\\" and self.i + 1 < len(text):
                    self.i += 1
                out.append(text[self.i])
                self.i += 1
            if self.i >= len(text):
                raise self.fail("unterminated quote")
            self.i += 1
            return "".join(out), True, False
        if self.i < len(text) and text[self.i] == "/":
            raise self.fail("regular expressions are not supported")
        out = []
        wild = False
        while self.i < len(text):
            ch = text[self.i]
            if ch.isspace() or ch == "^" or (stop_at_colon and ch == ":"):
                break
            if ch == "\\":
                if self.i + 1 >= len(text):
                    raise self.fail("dangling escape")
                out.append(text[self.i:self.i + 2])
                self.i += 2
                continue
            if ch == "~":
                raise self.fail("fuzzy terms are not supported")
            if ch in "*?":
                wild = True
            out.append(ch)
            self.i += 1
        return "".join(out), False, wild

    def boost(self) -> float:
        text = self.text
        if self.i >= len(text) or text[self.i] != "^":
            return 1.0
        self.i += 1
        start = self.i
        while self.i < len(text) and (text[self.i].isdigit() or text[self.i] == "."):
            self.i += 1
        try:
            return float(text[start:self.i])
        except ValueError:
            raise self.fail("a boost must be a number") from None


def _unescape(text: str) -> str:
    out = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def _number(text: str) -> float | None:
    if "_" in text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _date(text: str) -> datetime | None:
    if "T" not in text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def parse(text: str) -> Query:
    """The Query for ``text``; "" and "*" match everything. Raises QueryError."""
    if not text.strip():
        return MATCH_ALL
    must, should, must_not = [], [], []
    for occur, clause in _Reader(text).clauses():
        {"must": must, "should": should, "must_not": must_not}[occur].append(clause)
    return Query(tuple(must), tuple(should), tuple(must_not))


def flatten(prefix: str, value: Any, out: dict[str, list[Any]] | None = None) -> dict[str, list[Any]]:
    """The document fields of a JSON value: objects nest with dots, lists add values to the
    same field, strings/numbers/booleans are values, null is skipped."""
    if out is None:
        out = {}
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    elif isinstance(value, list):
        for item in value:
            flatten(prefix, item, out)
    elif value is not None:
        out.setdefault(prefix, []).append(value)
    return out
