"""The committed stubs are what the .proto files generate today."""

from devstack import protogen


def test_generated_stubs_are_not_stale():
    assert protogen.check() == [], "run `make protos` and commit the result"


def test_every_proto_has_stubs():
    for proto in protogen.proto_files():
        base = proto.with_suffix("")
        assert base.with_name(base.name + "_pb2.py").exists(), proto
        assert base.with_name(base.name + "_pb2_grpc.py").exists(), proto
