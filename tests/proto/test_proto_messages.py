"""Every osqueue.v1 message survives the binary and JSON codecs; JSON names are the wire names."""

from __future__ import annotations

from collections.abc import Callable

import osqueue_proto
import pytest
from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message
from osqueue_proto.v1 import queue_pb2

MESSAGE_NAMES = sorted(queue_pb2.DESCRIPTOR.message_types_by_name)


def message_class(name: str) -> type[Message]:
    cls: type[Message] = getattr(osqueue_proto, name)
    return cls


def test_package_reexports_every_message_and_the_service_classes() -> None:
    service_classes = {
        "QueueService",
        "QueueServiceASGIApplication",
        "QueueServiceClient",
        "QueueServiceClientSync",
        "QueueServiceSync",
        "QueueServiceWSGIApplication",
    }
    assert set(osqueue_proto.__all__) == set(MESSAGE_NAMES) | service_classes
    for name in MESSAGE_NAMES:
        assert getattr(osqueue_proto, name) is getattr(queue_pb2, name)


def test_service_is_osqueue_v1_queue_service() -> None:
    service = queue_pb2.DESCRIPTOR.services_by_name["QueueService"]
    assert service.full_name == "osqueue.v1.QueueService"

    class Unimplemented(osqueue_proto.QueueService):
        pass

    assert osqueue_proto.QueueServiceASGIApplication(Unimplemented()).path == "/osqueue.v1.QueueService"
    assert [method.name for method in service.methods] == [
        "SubmitJob",
        "ClaimJob",
        "Heartbeat",
        "CompleteJob",
        "GetStats",
        "ListJobs",
        "SubmitJobs",
        "FailJob",
        "GetJob",
        "ListDeadLetters",
        "RequeueDeadLetters",
        "DeleteDeadLetters",
        "CompleteJobs",
    ]


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_binary_round_trip(name: str, filled: Callable[[Message], Message]) -> None:
    cls = message_class(name)
    message = filled(cls())
    decoded = cls.FromString(message.SerializeToString())
    assert decoded == message
    assert cls.FromString(cls().SerializeToString()) == cls()


@pytest.mark.parametrize("name", MESSAGE_NAMES)
def test_json_round_trip(name: str, filled: Callable[[Message], Message]) -> None:
    cls = message_class(name)
    message = filled(cls())
    decoded = json_format.Parse(json_format.MessageToJson(message), cls())
    assert decoded == message


def test_json_uses_camel_case_names_and_int64_strings() -> None:
    request = osqueue_proto.SubmitJobRequest(
        payload=b'{"n":1}', max_attempts=5, type="email", delay_ms=2**53 + 1, idempotency_key="k"
    )
    assert json_format.MessageToDict(request) == {
        "payload": "eyJuIjoxfQ==",
        "maxAttempts": 5,
        "type": "email",
        "delayMs": "9007199254740993",
        "idempotencyKey": "k",
    }
    job = osqueue_proto.JobInfo(id="j", worker_id="w", created_at=1, heartbeat=0, last_error="boom")
    assert json_format.MessageToDict(job) == {
        "id": "j",
        "workerId": "w",
        "createdAt": "1",
        "lastError": "boom",
    }


def test_added_fields_take_new_numbers() -> None:
    numbers = {
        (message, field.name): field.number
        for message in ("GetStatsResponse", "ListJobsResponse", "JobInfo")
        for field in queue_pb2.DESCRIPTOR.message_types_by_name[message].fields
    }
    assert numbers[("GetStatsResponse", "broker_heartbeat")] == 8
    assert numbers[("ListJobsResponse", "broker_heartbeat")] == 9
    assert (numbers[("JobInfo", "dead_reason")], numbers[("JobInfo", "dead_at")]) == (13, 14)
    job = osqueue_proto.JobInfo(id="j", status="dead_letter", dead_reason="max attempts reached", dead_at=7)
    assert json_format.MessageToDict(job) == {
        "id": "j",
        "status": "dead_letter",
        "deadReason": "max attempts reached",
        "deadAt": "7",
    }


def test_no_job_is_an_empty_claim_response() -> None:
    empty = osqueue_proto.ClaimJobResponse()
    assert empty.SerializeToString() == b""
    decoded = osqueue_proto.ClaimJobResponse.FromString(b"")
    assert not decoded.HasField("job_id")
    assert not decoded.HasField("payload")
    assert list(decoded.jobs) == []


def test_optional_fields_track_presence() -> None:
    # A zero that was set explicitly is distinguishable from "not given" only for optional fields.
    request = osqueue_proto.SubmitJobRequest(priority=0, delay_ms=0)
    decoded = osqueue_proto.SubmitJobRequest.FromString(request.SerializeToString())
    assert decoded.HasField("priority")
    assert decoded.HasField("delay_ms")
    assert not decoded.HasField("max_attempts")
    assert not decoded.HasField("idempotency_key")
    claim_bytes = osqueue_proto.ClaimJobRequest(limit=1).SerializeToString()
    claim = osqueue_proto.ClaimJobRequest.FromString(claim_bytes)
    assert claim.HasField("limit")
    assert not claim.HasField("wait_ms")


def test_error_info_packs_as_an_any_detail() -> None:
    detail = any_pb2.Any()
    detail.Pack(osqueue_proto.ErrorInfo(tag="NotLeaderError", leader="10.0.0.2:8080"))
    assert detail.type_url == "type.googleapis.com/osqueue.v1.ErrorInfo"
    info = osqueue_proto.ErrorInfo()
    assert detail.Unpack(info)
    assert (info.tag, info.leader) == ("NotLeaderError", "10.0.0.2:8080")
    assert not osqueue_proto.ErrorInfo(tag="AuthError").HasField("leader")
