"""osqueue.v1 stays wire-compatible with the TypeScript osqueue's queue.proto.

The TypeScript schema (ts_queue.proto) is compiled into a separate descriptor pool; its messages
must decode into the osqueue messages unchanged, and osqueue messages carrying the added fields
must still decode into the TypeScript messages, in both the binary and the JSON codec.
"""

from __future__ import annotations

from collections.abc import Callable

from google.protobuf import descriptor_pool, json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from osqueue_proto.v1 import queue_pb2

TS_FILE = "ts_queue.proto"


def ts_message_names(pool: descriptor_pool.DescriptorPool) -> list[str]:
    return sorted(pool.FindFileByName(TS_FILE).message_types_by_name)


def field_shape(field: FieldDescriptor) -> tuple[object, ...]:
    message_type = field.message_type.full_name if field.message_type is not None else None
    return (field.number, field.type, field.json_name, field.is_repeated, field.has_presence, message_type)


def test_ts_schema_is_the_one_expected(ts_pool: descriptor_pool.DescriptorPool) -> None:
    assert len(ts_message_names(ts_pool)) == 13


def test_every_ts_field_keeps_name_number_type_and_presence(ts_pool: descriptor_pool.DescriptorPool) -> None:
    for name in ts_message_names(ts_pool):
        ts_message = ts_pool.FindMessageTypeByName(f"osqueue.v1.{name}")
        ours = queue_pb2.DESCRIPTOR.message_types_by_name[name]
        for ts_field in ts_message.fields:
            our_field = ours.fields_by_name.get(ts_field.name)
            assert our_field is not None, f"{name}.{ts_field.name} is missing"
            assert field_shape(our_field) == field_shape(ts_field), f"{name}.{ts_field.name} changed"


def test_every_ts_rpc_keeps_its_path_and_messages(ts_pool: descriptor_pool.DescriptorPool) -> None:
    ts_service = ts_pool.FindServiceByName("osqueue.v1.QueueService")
    ours = queue_pb2.DESCRIPTOR.services_by_name["QueueService"]
    for ts_method in ts_service.methods:
        our_method = ours.methods_by_name[ts_method.name]
        assert our_method.full_name == ts_method.full_name
        assert our_method.input_type.full_name == ts_method.input_type.full_name
        assert our_method.output_type.full_name == ts_method.output_type.full_name


def test_ts_messages_decode_into_osqueue_messages(
    ts_pool: descriptor_pool.DescriptorPool,
    ts_class: Callable[[str], type[Message]],
    filled: Callable[[Message], Message],
) -> None:
    for name in ts_message_names(ts_pool):
        ts_message = filled(ts_class(name)())
        expected = json_format.MessageToDict(ts_message)
        ours: type[Message] = getattr(queue_pb2, name)
        from_binary = ours.FromString(ts_message.SerializeToString())
        from_json = json_format.Parse(json_format.MessageToJson(ts_message), ours())
        assert json_format.MessageToDict(from_binary) == expected, name
        assert json_format.MessageToDict(from_json) == expected, name


def test_osqueue_messages_decode_into_ts_messages(
    ts_pool: descriptor_pool.DescriptorPool,
    ts_class: Callable[[str], type[Message]],
    filled: Callable[[Message], Message],
) -> None:
    # Added fields are unknown to the TypeScript schema: binary decoding must skip them and keep
    # every known field intact.
    for name in ts_message_names(ts_pool):
        ours = filled(getattr(queue_pb2, name)())
        ts_cls = ts_class(name)
        decoded = ts_cls.FromString(ours.SerializeToString())
        assert json_format.MessageToDict(decoded) == json_format.MessageToDict(filled(ts_cls())), name


def test_ts_no_job_answer_and_osqueue_no_job_answer_agree(ts_class: Callable[[str], type[Message]]) -> None:
    ts_empty = ts_class("ClaimJobResponse")()
    assert ts_empty.SerializeToString() == queue_pb2.ClaimJobResponse().SerializeToString() == b""
    ours = queue_pb2.ClaimJobResponse(job_id="j1", payload=b"{}", type="t", attempt=2, max_attempts=3)
    ts_job = ts_class("ClaimJobResponse").FromString(ours.SerializeToString())
    assert json_format.MessageToDict(ts_job) == {"jobId": "j1", "payload": "e30=", "type": "t"}
