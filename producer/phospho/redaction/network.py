"""IP addresses: valid IPv4 (not a version string) and IPv6 (checked by the ipaddress module)."""

from __future__ import annotations

import ipaddress
import re

from .spans import Found, TextFacts

__all__ = ["find_ips", "IPV4_CANDIDATE", "IPV6_CANDIDATE"]

#: four dotted numbers of 1-3 digits, not inside a longer dotted number (octets checked after);
#: opens with a digit (the boundary is a lookbehind after it) so the engine skips to digits
IPV4_CANDIDATE = re.compile(r"[0-9](?<![A-Za-z0-9_.][0-9])[0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}"
                            r"(?!\.?[0-9]|[A-Za-z_])")
#: words before a dotted number that make it a version: 'version 1.2.3.4', 'v1.2.3.4', 'build 10.0.1.2'
_VERSION_BEFORE = re.compile(
    r"(?i)(?:\bv|\bver|version|versión|versione|versão|release|build|firmware|patch|update to|"
    r"upgrade to)[\s.:=]{0,3}$")
IPV6_CANDIDATE = re.compile(r"(?<![A-Za-z0-9_:.])(?=[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]{3,45}(?![A-Za-z0-9_]|:[0-9A-Fa-f])")


def find_ips(text: str, facts: TextFacts) -> list[Found]:
    """IPv4 and IPv6 addresses; value: the address in its canonical form."""
    found = []
    if facts.dotted_run:
        for match in IPV4_CANDIDATE.finditer(text):
            if _octets(match.group()) and not _VERSION_BEFORE.search(
                    text, max(0, match.start() - 16), match.start()):
                found.append(Found(match.start(), match.end(), match.group()))
    if "::" in text or text.count(":") >= 7:
        for match in IPV6_CANDIDATE.finditer(text):
            address = _ipv6(match.group())
            if address is not None:
                found.append(Found(match.start(), match.start() + len(address[0]), address[1]))
    return found


def _octets(candidate: str) -> bool:
    """0-255 each, written without leading zeros ('01.2.3.4' is no address)."""
    return all(int(part) <= 255 and (part == "0" or part[0] != "0") for part in candidate.split("."))


def _ipv6(candidate: str) -> tuple[str, str] | None:
    """(the text of the address, its canonical form) when `candidate` (trailing dots cut, and a
    colon that ends a sentence: 'at fe80::1:2:3: it') is an IPv6 address with at least three
    groups written ('::1', 'a::b' are left alone)."""
    candidate = candidate.rstrip(".")
    if candidate.endswith(":") and not candidate.endswith("::"):
        candidate = candidate[:-1]
    if candidate.count(":") < 2 or sum(1 for group in candidate.split(":") if group) < 3:
        return None
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return None
    return candidate, address.compressed
