"""queue.proto with generated protobuf and Connect code."""
