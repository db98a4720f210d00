"""Loading pickles written by other programs without importing, or running,
the classes they name.

Whoosh pickles its schema and segments (with clipsearch's tokenizers,
formats and codec) into an index's table of contents; pyvi ships its model as
a pickle of scikit-learn objects. Neither needs those classes to be read:
:func:`load_stand_ins` gives every object of a named class as a
:class:`StandIn` that keeps its state, and only plain values (numbers,
strings, containers, arrays) as themselves. So reading them imports nothing
(Whoosh's import costs a cold query a third of its start) and a damaged or
hostile file cannot make the loader call anything.
"""

from __future__ import annotations

import array
import codecs
import collections
import io
import pickle
from collections.abc import Mapping
from typing import Any

__all__ = ["StandIn", "load_stand_ins"]

#: What a pickle may name and get for real: plain values and their constructors.
_PLAIN: dict[tuple[str, str], Any] = {
    ("builtins", "int"): int,
    ("builtins", "float"): float,
    ("builtins", "str"): str,
    ("builtins", "bytes"): bytes,
    ("builtins", "bool"): bool,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "list"): list,
    ("builtins", "dict"): dict,
    ("builtins", "tuple"): tuple,
    ("builtins", "bytearray"): bytearray,
    ("builtins", "complex"): complex,
    ("collections", "defaultdict"): collections.defaultdict,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): codecs.encode,
    ("array", "array"): array.array,
    ("array", "_array_reconstructor"): array._array_reconstructor,  # type: ignore[attr-defined]
}


class StandIn:
    """An object of a class named in a pickle: its constructor's arguments
    (``args``) and its state, as ``state`` and, when that is a dict (or
    Python's ``(dict, slots)`` pair), as attributes. ``qualified`` is the
    class's module and name."""

    qualified = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args

    def __setstate__(self, state: Any) -> None:
        self.__dict__["state"] = state
        if isinstance(state, tuple) and len(state) == 2 and all(isinstance(s, dict | None) for s in state):
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict):
            self.__dict__.update(state)


_stand_ins: dict[str, type[StandIn]] = {}


def _stand_in(qualified: str) -> type[StandIn]:
    found = _stand_ins.get(qualified)
    if found is None:
        name = qualified.rpartition(".")[2]
        found = _stand_ins[qualified] = type(name, (StandIn,), {"qualified": qualified})
    return found


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, renamed: Mapping[str, str]) -> None:
        super().__init__(file)
        self._renamed = renamed

    def find_class(self, module: str, name: str) -> Any:
        if module == "__builtin__":  # a protocol 2 pickle written by Python 2 rules
            module = "builtins"
        plain = _PLAIN.get((module, name))
        if plain is not None:
            return plain
        qualified = f"{module}.{name}"
        return _stand_in(self._renamed.get(qualified, qualified))


def load_stand_ins(data: bytes | memoryview, renamed: Mapping[str, str] | None = None) -> Any:
    """The object pickled in ``data``, every instance of a named class a
    :class:`StandIn` (named as in ``renamed``, where a class was renamed)."""
    return _Unpickler(io.BytesIO(data), renamed or {}).load()
