"""Boolean watch queries: which posts belong to a watch.

Syntax (operators are upper case, everything else is case-insensitive)::

    acme                      a term, matched on word boundaries (not "acmeville")
    "acme phone"              a phrase, words in this order
    acme AND phone            both (adjacent terms are ANDed too: ``acme phone``)
    acme OR "acme corp"       either
    NOT refund, -refund       exclusion
    (acme OR 阿克美) -job      grouping; CJK terms match as substrings
    *                         everything

Parsing and matching are pure functions so a watch can be checked without any I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Query", "QuerySyntaxError", "parse_watch_query"]

# Han, Hiragana/Katakana, Hangul, CJK punctuation and fullwidth forms: scripts written
# without spaces between words, where a word boundary means nothing.
CJK_CHARS = (
    "\u2e80-\u2fdf\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3200-\u9fff"
    "\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
)
_CJK_RE = re.compile(f"[{CJK_CHARS}]")
# A "word character" for boundaries: a letter, digit or underscore that is not CJK, so
# ``acme`` matches in ``我爱acme手机`` but not in ``acmeville``.
_WORD = f"[^\\W{CJK_CHARS}]"
OPERATORS = ("AND", "OR", "NOT")


class QuerySyntaxError(ValueError):
    """A watch query that cannot be parsed; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int, query: str) -> None:
        super().__init__(f"{message} at position {position} in query {query!r}")
        self.position = position
        self.query = query


def _is_cjk(text: str) -> bool:
    return bool(_CJK_RE.search(text))


def _word_pattern(words: list[str]) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(word) for word in words)
    if _is_cjk("".join(words)):
        return re.compile(body, re.IGNORECASE)
    return re.compile(f"(?<!{_WORD}){body}(?!{_WORD})", re.IGNORECASE)


class Node:
    """A node of a parsed query."""

    def matches(self, text: str) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class MatchAll(Node):
    def matches(self, text: str) -> bool:
        return True


@dataclass(frozen=True)
class Words(Node):
    """A term (one word) or a phrase (several words in order)."""

    words: tuple[str, ...]
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", _word_pattern(list(self.words)))

    def matches(self, text: str) -> bool:
        return self.pattern.search(text) is not None


@dataclass(frozen=True)
class Not(Node):
    operand: Node

    def matches(self, text: str) -> bool:
        return not self.operand.matches(text)


@dataclass(frozen=True)
class And(Node):
    operands: tuple[Node, ...]

    def matches(self, text: str) -> bool:
        return all(operand.matches(text) for operand in self.operands)


@dataclass(frozen=True)
class Or(Node):
    operands: tuple[Node, ...]

    def matches(self, text: str) -> bool:
        return any(operand.matches(text) for operand in self.operands)


@dataclass(frozen=True)
class Query:
    """A parsed watch query; ``matches(text)`` says whether a post belongs to the watch."""

    text: str
    root: Node

    def matches(self, text: str) -> bool:
        return self.root.matches(text)


@dataclass(frozen=True)
class _Token:
    kind: str  # TERM, PHRASE, AND, OR, NOT, MINUS, LPAREN, RPAREN, STAR, END
    value: str
    position: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token("LPAREN" if char == "(" else "RPAREN", char, i))
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end == -1:
                raise QuerySyntaxError('unterminated quote "', i, text)
            tokens.append(_Token("PHRASE", text[i + 1 : end], i))
            i = end + 1
        elif char == "-" and (i + 1 == len(text) or text[i + 1].isspace()):
            raise QuerySyntaxError("- needs a term right after it", i, text)
        elif char == "-":
            tokens.append(_Token("MINUS", char, i))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in '()"':
                i += 1
            word = text[start:i]
            if word in OPERATORS:
                tokens.append(_Token(word, word, start))
            elif word == "*":
                tokens.append(_Token("STAR", word, start))
            else:
                tokens.append(_Token("TERM", word, start))
    tokens.append(_Token("END", "", len(text)))
    return tokens


class _Parser:
    """Recursive descent: or := and (OR and)*; and := unary (AND? unary)*;
    unary := (NOT | -) unary | atom; atom := TERM | PHRASE | * | ( or )."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, (token or self.current).position, self.text)

    def parse(self) -> Node:
        if self.current.kind == "END":
            raise self.error("empty query")
        node = self.parse_or()
        if self.current.kind == "RPAREN":
            raise self.error('unbalanced ")"')
        if self.current.kind != "END":  # pragma: no cover - parse_and consumes the rest
            raise self.error(f"unexpected {self.current.value!r}")
        return node

    def parse_or(self) -> Node:
        operands = [self.parse_and()]
        while self.current.kind == "OR":
            self.advance()
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def parse_and(self) -> Node:
        operands = [self.parse_unary()]
        while self.current.kind not in ("OR", "RPAREN", "END"):
            if self.current.kind == "AND":
                self.advance()
            operands.append(self.parse_unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def parse_unary(self) -> Node:
        if self.current.kind in ("NOT", "MINUS"):
            self.advance()
            return Not(self.parse_unary())
        return self.parse_atom()

    def parse_atom(self) -> Node:
        token = self.current
        if token.kind == "TERM":
            self.advance()
            return Words((token.value,))
        if token.kind == "PHRASE":
            self.advance()
            words = token.value.split()
            if not words:
                raise self.error("empty phrase", token)
            return Words(tuple(words))
        if token.kind == "STAR":
            self.advance()
            return MatchAll()
        if token.kind == "LPAREN":
            self.advance()
            if self.current.kind == "RPAREN":
                raise self.error("empty parentheses")
            node = self.parse_or()
            if self.current.kind != "RPAREN":
                raise self.error('unbalanced "("', token)
            self.advance()
            return node
        if token.kind == "END":
            previous = self.tokens[self.index - 1] if self.index else token
            raise self.error(f"{previous.value} needs a term after it", previous)
        if token.kind == "RPAREN":
            raise self.error('unbalanced ")"')
        if self.index == 0:
            raise self.error(f"{token.value} needs a term before it")
        raise self.error(f"unexpected {token.value}")


def parse_watch_query(text: str) -> Query:
    """Parse a watch query; raises :class:`QuerySyntaxError` naming the position."""
    return Query(text=text, root=_Parser(text).parse())


def search_terms(query: Query) -> list[str] | None:
    """Words and phrases to ask a platform's own (looser) search for, such that every post
    the query matches contains at least one of them; ``None`` when no such set exists
    (``*`` or a query that is only exclusions).

    OR needs every branch's terms; AND needs only its narrowest branch's; NOT gives none.
    The full query is still evaluated on every fetched post.
    """

    def cover(node: Node) -> list[str] | None:
        if isinstance(node, Words):
            return [" ".join(node.words)]
        if isinstance(node, Or):
            terms: list[str] = []
            for operand in node.operands:
                found = cover(operand)
                if found is None:
                    return None
                terms.extend(term for term in found if term not in terms)
            return terms
        if isinstance(node, And):
            covers = [found for found in map(cover, node.operands) if found is not None]
            return min(covers, key=len) if covers else None
        return None

    return cover(query.root)


def phrase_for_search(term: str) -> str:
    """A watch search term as platforms' search syntax: a multi-word term is quoted, so
    Mastodon, Bluesky, Reddit and Algolia look for the phrase, not any of its words."""
    term = term.strip()
    return f'"{term}"' if " " in term and not term.startswith('"') else term
