"""Typed errors survive the wire: `to_wire()` then `error_from_wire` rebuilds the same error."""

from __future__ import annotations

from typing import Any

import msgspec
import osqueue_types
import pytest
from osqueue_types import (
    ERROR_CLASSES,
    BrokerLeadershipError,
    BrokerProtocolError,
    OsqueueError,
    TransportRequestError,
    error_from_wire,
    is_osqueue_error,
)

EXPORTED_ERRORS = sorted(
    (
        value
        for name in osqueue_types.__all__
        if isinstance(value := getattr(osqueue_types, name), type) and issubclass(value, OsqueueError)
    ),
    key=lambda cls: cls.tag,
)


def _attributes(cls: type[OsqueueError]) -> dict[str, Any]:
    """Keyword attributes beyond the message, with values that are not the defaults."""
    if issubclass(cls, TransportRequestError):
        return {"method": "POST", "path": "/v1/jobs", "status": 409, "remote_tag": "CASConflictError"}
    if issubclass(cls, BrokerLeadershipError):
        return {"leader": "10.0.0.7:8080"}
    if issubclass(cls, BrokerProtocolError):
        return {"method": "noSuchMethod"}
    return {}


def _over_the_wire(error: OsqueueError, **options: Any) -> OsqueueError:
    body: object = msgspec.json.decode(msgspec.json.encode(error.to_wire()))
    return error_from_wire(body, **options)


def test_every_error_class_is_exported_with_a_stable_tag() -> None:
    assert set(EXPORTED_ERRORS) == set(ERROR_CLASSES.values())
    for cls in EXPORTED_ERRORS:
        assert cls.tag == cls.__name__
        assert ERROR_CLASSES[cls.tag] is cls


@pytest.mark.parametrize("cls", EXPORTED_ERRORS, ids=lambda cls: cls.tag)
def test_error_round_trips_through_its_wire_form(cls: type[OsqueueError]) -> None:
    error = cls(f"{cls.tag}: something went wrong", **_attributes(cls))
    rebuilt = _over_the_wire(error)
    assert type(rebuilt) is cls
    assert rebuilt.message == error.message and str(rebuilt) == str(error)
    assert vars(rebuilt) == vars(error)  # message and every attribute
    assert is_osqueue_error(error) and is_osqueue_error(rebuilt)


@pytest.mark.parametrize("cls", EXPORTED_ERRORS, ids=lambda cls: cls.tag)
def test_error_with_default_attributes_round_trips(cls: type[OsqueueError]) -> None:
    error = cls("plain")
    rebuilt = _over_the_wire(error)
    assert type(rebuilt) is cls and vars(rebuilt) == vars(error)


def test_named_attributes_are_on_the_wire() -> None:
    assert BrokerProtocolError("bad", method="claimJob").to_wire() == {
        "_tag": "BrokerProtocolError",
        "message": "bad",
        "method": "claimJob",
    }
    assert BrokerLeadershipError("x", leader="h:1").to_wire()["leader"] == "h:1"
    wire = TransportRequestError("x", method="GET", path="/p", status=502, remote_tag="T").to_wire()
    assert (wire["method"], wire["path"], wire["status"], wire["remoteTag"]) == ("GET", "/p", 502, "T")


def test_transport_request_error_keeps_its_own_status_else_takes_the_answers() -> None:
    with_status = TransportRequestError("x", status=404)
    rebuilt = _over_the_wire(with_status, status=500)
    assert isinstance(rebuilt, TransportRequestError) and rebuilt.status == 404
    rebuilt = _over_the_wire(TransportRequestError("x"), status=500)
    assert isinstance(rebuilt, TransportRequestError) and rebuilt.status == 500


def test_is_osqueue_error_is_false_for_other_values() -> None:
    assert not is_osqueue_error(ValueError("x"))
    assert not is_osqueue_error(OsqueueError)  # the class, not an error
    assert not is_osqueue_error({"_tag": "OsqueueError", "message": "x"})
    assert not is_osqueue_error(None)


def test_unknown_tag_is_a_transport_request_error_naming_it() -> None:
    error = error_from_wire({"_tag": "FromANewerBroker", "message": "new failure", "extra": 1}, status=500)
    assert type(error) is TransportRequestError
    assert (error.message, error.remote_tag, error.status) == ("new failure", "FromANewerBroker", 500)
    assert is_osqueue_error(error)


@pytest.mark.parametrize(
    "body",
    [{"message": "no tag"}, {"_tag": 17, "message": "tag is not text"}, ["not", "a", "dict"], "oops", None],
)
def test_body_without_a_tag_is_a_transport_request_error(body: object) -> None:
    error = error_from_wire(body, status=502)
    assert type(error) is TransportRequestError
    assert error.status == 502 and error.remote_tag is None and error.message


def test_attributes_of_the_wrong_type_are_dropped() -> None:
    error = error_from_wire({"_tag": "NotLeaderError", "message": "m", "leader": 5})
    assert isinstance(error, BrokerLeadershipError) and error.leader is None
    error = error_from_wire({"_tag": "BrokerProtocolError", "message": "m", "method": ["x"]})
    assert isinstance(error, BrokerProtocolError) and error.method is None
