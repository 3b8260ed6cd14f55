"""A client that finds its broker in queue.json raises only typed errors, whatever the file says.

The leader's address is read from storage (and, the same way, from a broker's not-leader answer),
so it is input like any other. Addresses here are damaged around literal loopback hosts (bad
ports, brackets, schemes, stray characters, bytes that are not UTF-8), never host names, so no
example waits on DNS. Every call must end in an `OsqueueError` (nothing listens there), with
`failover_deadline=0` so each example makes one attempt.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from osqueue_client import OsqueueClient, TransportName
from osqueue_storage import MemoryBackend
from osqueue_types import QUEUE_STATE_KEY, OsqueueError

HOSTS = ["127.0.0.1", "[::1]", "[::1", "::1", "127.0.0.1]", "", "http://127.0.0.1", "ftp://127.0.0.1"]
ports = st.integers(-10, 200_000).map(str) | st.text(alphabet="0123456789+-. #/?%\\x", max_size=6)
# Always a ":" after the host, and no "@" (text after it would become the host): the host stays
# a literal and no example waits on a DNS lookup.
tails = st.text(alphabet=st.characters(exclude_characters="@"), max_size=3)
addresses = st.one_of(
    st.builds(
        lambda host, sep, port, tail: json.dumps(f"{host}{sep}{port}{tail}").encode(),
        st.sampled_from(HOSTS),
        st.sampled_from([":", "::"]),
        ports,
        tails,
    ),
    st.builds(
        lambda junk: b'"127.0.0.1:1' + junk + b'"',
        st.binary(max_size=4).filter(lambda b: b'"' not in b and b"\\" not in b),
    ),
)
transports: st.SearchStrategy[TransportName] = st.sampled_from(["connect", "rest", "ws"])


@settings(max_examples=150, deadline=None)
@given(address=addresses, transport=transports)
async def test_a_malformed_broker_address_ends_in_a_typed_error(
    address: bytes, transport: TransportName
) -> None:
    storage = MemoryBackend()
    state = b'{"broker":%s,"brokerHeartbeat":0,"jobs":[],"completedTotal":0}' % address
    await storage.create_if_not_exists(QUEUE_STATE_KEY, state)
    client = OsqueueClient(storage=storage, transport=transport, timeout=1, failover_deadline=0)
    try:
        await client.stats()
    except OsqueueError:
        pass
    except Exception as exc:
        pytest.fail(f"{transport} client, broker {address!r} in queue.json: {type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
