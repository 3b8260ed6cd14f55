"""Fixtures for the osqueue-proto tests: deterministic sample messages and the TypeScript schema."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

TS_PROTO = Path(__file__).with_name("ts_queue.proto")


def _scalar(field: FieldDescriptor, index: int) -> Any:
    # Values depend only on the field's name, number and position, so a TypeScript-shaped
    # message and an osqueue message filled the same way agree on every shared field.
    if field.type == FieldDescriptor.TYPE_INT32:
        return 1000 * field.number + index + 1
    if field.type == FieldDescriptor.TYPE_INT64:
        return 2**53 + field.number + index  # beyond a JavaScript number's exact range
    if field.type == FieldDescriptor.TYPE_STRING:
        return f"{field.name}-{index}-é"
    if field.type == FieldDescriptor.TYPE_BYTES:
        return json.dumps({"field": field.number, "index": index, "text": "é"}).encode()
    if field.type == FieldDescriptor.TYPE_BOOL:
        return True
    raise AssertionError(f"no sample value for {field.full_name} (type {field.type})")


def fill(message: Message) -> Message:
    """Set every field of `message` (two entries for repeated ones, recursively) and return it."""
    # The stubs type descriptors as a union of the pure-Python and upb classes; both behave alike.
    for field in cast("Sequence[FieldDescriptor]", message.DESCRIPTOR.fields):
        target = getattr(message, field.name)
        if field.message_type is not None and field.is_repeated:
            for _ in range(2):
                fill(target.add())
        elif field.message_type is not None:
            target.SetInParent()
            fill(target)
        elif field.is_repeated:
            target.extend(_scalar(field, index) for index in range(2))
        else:
            setattr(message, field.name, _scalar(field, 0))
    return message


@pytest.fixture
def filled() -> Callable[[Message], Message]:
    return fill


@pytest.fixture(scope="session")
def ts_pool(tmp_path_factory: pytest.TempPathFactory) -> descriptor_pool.DescriptorPool:
    """The TypeScript osqueue's queue.proto, compiled into a pool of its own."""
    descriptor_set = tmp_path_factory.mktemp("ts-proto") / "ts_queue.binpb"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            f"--proto_path={TS_PROTO.parent}",
            f"--descriptor_set_out={descriptor_set}",
            TS_PROTO.name,
        ],
        check=True,
    )
    files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return pool


@pytest.fixture
def ts_class(ts_pool: descriptor_pool.DescriptorPool) -> Callable[[str], type[Message]]:
    """The TypeScript schema's message class of a given short name."""
    return lambda name: message_factory.GetMessageClass(ts_pool.FindMessageTypeByName(f"osqueue.v1.{name}"))
