"""X's weighted text length (twitter-text v3 configuration).

X does not count characters: it counts *weight*. With the v3 configuration:

- the text is NFC-normalized first;
- code points in ``0-4351``, ``8192-8205``, ``8208-8223`` and ``8242-8247``
  (Latin, Greek, Cyrillic, Hebrew, Arabic, Indic scripts..., general
  punctuation) weigh 100, every other code point (CJK, Hangul, emoji...) 200;
- every URL weighs ``transformedURLLength`` (23) x 100 whatever its length,
  because X shortens it to a t.co link;
- an emoji sequence (ZWJ families, skin tones, flags, keycaps) weighs 200 as a
  whole;
- the result is divided by the scale (100) and must not exceed 280.

Limits of this implementation, on purpose: URL detection is practical, not
twitter-text's full extractor. It finds ``http(s)://`` URLs, and bare domains
(``example.com/path``) whose top-level domain is a common generic one, or a
two-letter country code when a path follows. Internationalized domain names
and exotic TLDs written without a scheme count as plain text. Emoji detection
uses code-point ranges of pictographic characters rather than the Unicode emoji
data files; it agrees with twitter-text for the emoji people actually type.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from gateway.types import Problem

MAX_WEIGHTED_LENGTH = 280
SCALE = 100
DEFAULT_WEIGHT = 200
URL_LENGTH = 23  #: transformedURLLength
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

_GENERIC_TLDS = (
    "com|net|org|edu|gov|mil|int|info|biz|name|pro|xyz|app|dev|blog|news|online|site|tech|store"
    "|shop|club|live|cloud|page|link|social|media|io|ai|co|me|tv|ly|gg|fm"
)
# Trailing characters that end a sentence rather than a URL.
_TRAILING = ".,:;!?'\"*"
_URL = re.compile(
    r"(?<![\w@.\-/:#$])"
    r"(?:"
    r"https?://[^\s<>\"]*[^\s<>\"\x00-\x20]"
    r"|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+"
    r"(?:(?:" + _GENERIC_TLDS + r")(?![\w-])(?::\d{1,5})?(?:/[^\s<>\"]*)?"
    r"|[a-z]{2}(?![\w-])(?::\d{1,5})?/[^\s<>\"]*)"
    r")",
    re.IGNORECASE,
)

ZWJ = 0x200D
VS15, VS16 = 0xFE0E, 0xFE0F
KEYCAP = 0x20E3
_PICTOGRAPHIC = (
    (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122), (0x2139, 0x2139),
    (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
    (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2),
    (0x25AA, 0x25AB), (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE),
    (0x2600, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07), (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D),
    (0x3297, 0x3297), (0x3299, 0x3299), (0x1F000, 0x1F1E5), (0x1F200, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)  # fmt: skip
_KEYCAP_BASES = frozenset(map(ord, "0123456789#*"))
#: text-default characters that only become emoji with VS16 (U+FE0F): (c) (r)
_TEXT_DEFAULT = frozenset((0x00A9, 0x00AE))


def _in(cp: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(lo <= cp <= hi for lo, hi in ranges)


def char_weight(cp: int) -> int:
    return SCALE if _in(cp, _LIGHT_RANGES) else DEFAULT_WEIGHT


def _regional(cp: int) -> bool:
    return 0x1F1E6 <= cp <= 0x1F1FF


def _skin_tone(cp: int) -> bool:
    return 0x1F3FB <= cp <= 0x1F3FF


def _tag(cp: int) -> bool:
    return 0xE0020 <= cp <= 0xE007F


def _emoji_element(cps: list[int], i: int) -> int | None:
    """End of the emoji element starting at ``i`` (before any ZWJ), or None."""
    n = len(cps)
    cp = cps[i]
    if _regional(cp):
        return i + 2 if i + 1 < n and _regional(cps[i + 1]) else i + 1
    if cp in _KEYCAP_BASES:  # keycap: digit, optional VS16, U+20E3
        j = i + 1 + (i + 1 < n and cps[i + 1] == VS16)
        return j + 1 if j < n and cps[j] == KEYCAP else None
    if cp in _TEXT_DEFAULT:
        if not (i + 1 < n and cps[i + 1] == VS16):
            return None
    elif not _in(cp, _PICTOGRAPHIC):
        return None
    j = i + 1
    if j < n and cps[j] in (VS15, VS16):
        j += 1
    if j < n and _skin_tone(cps[j]):
        j += 1
    while j < n and _tag(cps[j]):  # subdivision flags (England, Scotland...)
        j += 1
    return j


def _emoji_end(cps: list[int], i: int) -> int | None:
    """End of the whole emoji sequence starting at ``i`` (ZWJ-joined), or None."""
    end = _emoji_element(cps, i)
    if end is None:
        return None
    while end + 1 < len(cps) and cps[end] == ZWJ:
        nxt = _emoji_element(cps, end + 1)
        if nxt is None:
            break
        end = nxt
    return end


def url_spans(text: str) -> Iterator[tuple[int, int]]:
    """Start and end of every URL in ``text`` (trailing punctuation excluded)."""
    for match in _URL.finditer(text):
        start, end = match.span()
        url = match.group()
        while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
            url = url[:-1]
            end -= 1
        if url.partition("://")[2] or "://" not in url:
            yield start, end


def weighted_length(text: str) -> int:
    """X's length of ``text``: what must not exceed 280."""
    text = unicodedata.normalize("NFC", text)
    urls = dict(url_spans(text))
    cps = [ord(c) for c in text]
    total = 0
    i = 0
    while i < len(cps):
        if i in urls:
            total += URL_LENGTH * SCALE
            i = urls[i]
            continue
        end = _emoji_end(cps, i)
        if end is not None:
            total += DEFAULT_WEIGHT
            i = end
            continue
        total += char_weight(cps[i])
        i += 1
    return total // SCALE


def replace_urls(text: str, replacement: str) -> str:
    """``text`` with every URL replaced (used to compare texts the way X shows them)."""
    out: list[str] = []
    last = 0
    for start, end in url_spans(text):
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def problems(text: str, thread: tuple[str, ...], *, max_parts: int) -> list[Problem]:
    """Everything X would refuse in this post and its thread, as data."""
    found: list[Problem] = []
    parts = [("text", text), *((f"thread[{i}]", part) for i, part in enumerate(thread))]
    if len(parts) > max_parts:
        found.append(
            Problem(
                "thread",
                "too_many_parts",
                f"A thread on X may have at most {max_parts} posts; this one has {len(parts)}.",
            )
        )
    seen: dict[str, str] = {}
    for field, part in parts:
        if not part.strip():
            found.append(Problem(field, "empty", "The post has no text; X needs some."))
            continue
        length = weighted_length(part)
        if length > MAX_WEIGHTED_LENGTH:
            found.append(
                Problem(
                    field,
                    "too_long",
                    f"Too long for X: weighted length {length} of {MAX_WEIGHTED_LENGTH}"
                    " (URLs count 23; CJK characters and emoji count 2).",
                )
            )
        key = unicodedata.normalize("NFC", part).strip()
        if key in seen:
            found.append(Problem(field, "duplicate", f"Same text as {seen[key]}; X refuses duplicate posts."))
        else:
            seen[key] = field
    return found
