"""A small reader for nginx configuration files: enough to assert on directives, not a validator (`nginx -t` is).

tree = parse(text)
upstream = block(tree, "upstream", "ganserve")
args(upstream, "least_conn")        # [] when present without arguments; KeyError when absent
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None
    children: list[Directive] = field(default_factory=list)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{};":
            tokens.append(c)
            i += 1
        elif c in "'\"":
            i += 1
            out = []
            while text[i] != c:
                if text[i] == "\\":
                    i += 1
                    out.append(_ESCAPES.get(text[i], text[i]))
                else:
                    out.append(text[i])
                i += 1
            tokens.append("".join(out))
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "{};":
                i += 1
            tokens.append(text[start:i])
    return tokens


def parse(text: str) -> list[Directive]:
    stack: list[list[Directive]] = [[]]
    words: list[str] = []
    for token in _tokens(text):
        if token == ";":
            stack[-1].append(Directive(words[0], words[1:]))
            words = []
        elif token == "{":
            body: list[Directive] = []
            stack[-1].append(Directive(words[0], words[1:], body))
            stack.append(body)
            words = []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            stack.pop()
        else:
            words.append(token)
    assert len(stack) == 1 and not words, "unbalanced braces or a directive without ';'"
    return stack[0]


def all_named(tree: list[Directive], name: str) -> list[Directive]:
    return [d for d in tree if d.name == name]


def args(tree: list[Directive], name: str) -> list[str]:
    """The arguments of the one directive called `name` in `tree` (not nested)."""
    found = all_named(tree, name)
    if len(found) != 1:
        raise KeyError(f"expected one {name!r}, found {len(found)}")
    return found[0].args


def block(tree: list[Directive], name: str, *first_args: str) -> list[Directive]:
    for d in tree:
        if d.name == name and d.block is not None and d.args[: len(first_args)] == list(first_args):
            return d.block
    raise KeyError(f"no block {name} {' '.join(first_args)}")
