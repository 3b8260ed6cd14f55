"""Hypothesis strategies for what a client can send: any JSON, any bytes, and "nearly right"
bodies (the right field names with values of any type and at the edges of every range), which
get past the first decoding step and reach the checks behind it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from hypothesis import strategies as st

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

# Integer edges: the int32/int64/uint64 bounds, JavaScript's safe integer, zero and signs.
EDGE_INTS = [
    *(0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1),
    *(2**53, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), 2**64 - 1, 2**64, 60_000, 60_001, 1000, 1001),
]
edge_ints = st.sampled_from(EDGE_INTS) | st.integers()
edge_texts = st.sampled_from(["", "default", "other", " ", "\x00", "é", "x" * 257, "😀"]) | st.text(
    max_size=300
)
field_values: st.SearchStrategy[Any] = edge_ints | edge_texts | json_values


def mostly(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Three times in four from `strategy`, else a value of any type."""
    return st.sampled_from([True, True, True, False]).flatmap(lambda fits: strategy if fits else field_values)


def nearly(
    fields: Mapping[str, st.SearchStrategy[Any]], required: Iterable[str] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the `required` fields and any subset of the others, each value mostly from
    its own strategy, plus the odd unknown key."""
    needed = set(required)
    return st.builds(
        lambda known, extra: {**extra, **known},
        st.fixed_dictionaries(
            {name: mostly(strategy) for name, strategy in fields.items() if name in needed},
            optional={name: mostly(strategy) for name, strategy in fields.items() if name not in needed},
        ),
        st.dictionaries(st.text(max_size=6), json_values, max_size=1),
    )


def encode_json(value: Any) -> bytes:
    return json.dumps(value).encode()


@st.composite
def corrupted(draw: st.DrawFn, data: st.SearchStrategy[bytes]) -> bytes:
    """Valid bytes with a few bits flipped, a slice replaced, or the end cut off."""
    raw = bytearray(draw(data))
    if not raw:
        return bytes(raw)
    how = draw(st.sampled_from(["flip", "splice", "truncate"]))
    if how == "flip":
        for _ in range(draw(st.integers(1, 4))):
            raw[draw(st.integers(0, len(raw) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif how == "splice":
        start = draw(st.integers(0, len(raw) - 1))
        end = draw(st.integers(start, min(len(raw), start + 8)))
        raw[start:end] = draw(st.binary(max_size=8))
    else:
        del raw[draw(st.integers(0, len(raw) - 1)) :]
    return bytes(raw)


def bodies(objects: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[bytes]:
    """Request bodies: nearly right objects, any JSON, any bytes, or corrupted nearly right JSON."""
    near = objects.map(encode_json)
    return near | json_values.map(encode_json) | st.binary(max_size=200) | corrupted(near)


def choices(values: Iterable[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(values))
