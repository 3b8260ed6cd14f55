"""Generated protobuf and Connect code for the `osqueue.v1` package (see tools/gen_proto.py)."""
