"""Hostile objects for the SDK's property tests: instances of generated classes (over object, dict,
list, tuple, str, int, float, bytes) whose chosen methods raise (`__str__`, `__repr__`, `items`,
`keys`, `__iter__`, `__len__`, `__bool__`, `__eq__`, `__hash__`, `__getattr__`, `__format__`,
`model_dump`, `__bytes__`), with exceptions whose own `__str__` may raise too; nested in plain
JSON-like values, and as the app's callables (extractors, usage functions, stop rules)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["HOSTILE_METHODS", "hostile", "values", "callables", "ids"]

HOSTILE_METHODS = ("__str__", "__repr__", "items", "keys", "__iter__", "__len__", "__bool__", "__eq__",
                   "__hash__", "__getattr__", "__format__", "model_dump", "__bytes__")
_BASES = (object, dict, list, tuple, str, int, float, bytes)


class UnprintableError(Exception):
    """An exception that cannot be printed either."""

    def __str__(self) -> str:
        raise RuntimeError("no str for this exception")

    __repr__ = __str__


_ERRORS = (ValueError, RuntimeError, KeyError, TypeError, UnprintableError)


def _raiser(error: type[Exception], name: str) -> Any:
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise error(f"{name} refuses")
    return method


def _make(base: type, methods: frozenset[str], error: type[Exception], payload: Any) -> Any:
    namespace: dict[str, Any] = {name: _raiser(error, name) for name in methods}
    if "__eq__" in methods and "__hash__" not in methods:
        namespace["__hash__"] = base.__hash__ if base.__hash__ is not None else object.__hash__
    cls = type(f"Hostile{base.__name__.title()}", (base,), namespace)
    if base is object:
        return cls()
    if base in (dict, list, tuple):
        return cls(payload)
    if base is bytes:
        return cls(b'{"hostile": true}')
    return cls({str: "hostile text", int: 7, float: 2.5}[base])


@st.composite
def hostile(draw: Any, children: Any = None) -> Any:
    """One hostile object (a container holding `children` when it is one)."""
    base = draw(st.sampled_from(_BASES))
    methods = frozenset(draw(st.sets(st.sampled_from(HOSTILE_METHODS), min_size=1, max_size=4)))
    error = draw(st.sampled_from(_ERRORS))
    payload: Any = None
    if base is dict:
        payload = draw(st.dictionaries(st.text(max_size=4), children if children is not None else _scalars, max_size=3))
    elif base in (list, tuple):
        payload = draw(st.lists(children if children is not None else _scalars, max_size=3))
    return _make(base, methods, error, payload)


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)

#: JSON-like values with hostile objects anywhere in them (keys stay hashable)
values = st.recursive(
    _scalars | hostile(),
    lambda children: (st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4) | st.integers(), children, max_size=3)
                      | hostile(children)),
    max_leaves=8,
)

#: an id as an app may pass it: a string, a number, or a hostile object
ids = st.text(min_size=1, max_size=12) | st.integers() | hostile()


@st.composite
def callables(draw: Any, arity: int) -> Any:
    """An app's extractor: it raises (with a hostile exception, maybe), or returns a hostile value."""
    if draw(st.booleans()):
        error = draw(st.sampled_from(_ERRORS))

        def raising(*args: Any) -> Any:
            raise error("the app's function failed")
        return raising
    result = draw(values)
    return (lambda a: result) if arity == 1 else (lambda a, b: result)
