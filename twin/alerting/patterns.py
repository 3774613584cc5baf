"""Matcher values: a literal, or `~REGEX` matched in full against the label's text.

Regexes run on RE2 (google-re2): matching takes time linear in the text whatever the pattern,
so no silence or inhibition (`~(.*)*(.*)*(.*)*z` included) can stall a monitor pass. Patterns
are compiled when a silence or rule is made, and a bad one is refused there, named in the error.
RE2 has no backreferences or lookaround; those patterns are refused the same way.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

MAX_PATTERN = 1000  # characters; a matcher names targets, it is not a program
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the error goes to the person who wrote the pattern, not stderr


class BadPattern(ValueError):
    """A `~REGEX` matcher that cannot be used; the message names the pattern and why."""


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern; raises BadPattern naming it."""
    if len(pattern) > MAX_PATTERN:
        raise BadPattern(f"~{pattern[:40]}...: longer than {MAX_PATTERN} characters")
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
        raise BadPattern(f"~{pattern}: not a regular expression twin can use ({reason})") from None


def value_matches(text: str, wanted: str) -> bool:
    """`wanted` is a literal (equal) or `~REGEX` (full match; a bad pattern matches nothing)."""
    if not wanted.startswith("~"):
        return text == wanted
    try:
        return compile_pattern(wanted[1:]).fullmatch(text) is not None
    except BadPattern:
        return False


def check_patterns(matchers: dict[str, Any], where: str) -> None:
    """Raise ValueError naming the label and the pattern of the first unusable `~REGEX`."""
    for name, wanted in matchers.items():
        for option in wanted if isinstance(wanted, list) else [wanted]:
            text = str(option)
            if text.startswith("~"):
                try:
                    compile_pattern(text[1:])
                except BadPattern as exc:
                    raise ValueError(f"{where}: {name}: {exc}") from None
