"""The SDK's version, and apps' default version ids in phospho's format: "YYYYMMDD_<adjective>-<animal>"."""

from __future__ import annotations

import datetime
import random

__all__ = ["SDK_VERSION", "generate_version_id"]

#: the SDK's version (phospho.__version__, and every event's sdk_version)
SDK_VERSION = "0.1.0"

_ADJECTIVES = (
    "gentle happy aggressive proud sad funny serious boring exciting junior senior mega blurry "
    "digital bullish bearish fast accelerated massive tiny maxxed giga supa hot cold frozen "
    "burning cooked raw testing dark"
).split()
_ANIMALS = (
    "pandas tigers lions elephants giraffes dogs cats snakes birds fishes whales dolphins sharks "
    "crocodiles gazelles cheetahs bears bulls wolves foxes horses ponies chickens penguins "
    "tarentulas scorpions spiders ants bees rats doggies rabbits kitties quarks"
).split()


def generate_version_id() -> str:
    today = datetime.datetime.now().strftime("%Y%m%d")
    return f"{today}_{random.choice(_ADJECTIVES)}-{random.choice(_ANIMALS)}"
