"""The committed stubs are what the .proto files generate today, and they type every call."""

from __future__ import annotations

import textwrap
from pathlib import Path

from mypy import api as mypy_api

from devstack import protogen

REPO = Path(__file__).resolve().parents[2]


def test_generated_stubs_are_not_stale():
    assert protogen.check() == [], "run `make protos` and commit the result"


def test_every_proto_has_stubs():
    for proto in protogen.proto_files():
        base = proto.with_suffix("")
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi"):
            assert base.with_name(base.name + suffix).exists(), (proto, suffix)


# Calls as the gateway and the services make them: on an asyncio channel the stub's methods are
# awaited and give the reply's message type; on a blocking channel (the workers) they return it.
# A request of the wrong type is an error, not Any.
TYPED_CALLS = """
    from typing import assert_type

    import grpc
    from google.protobuf import empty_pb2

    from zapcut.accounts.v1 import accounts_pb2, accounts_pb2_grpc
    from zapcut.media.v1 import media_pb2, media_pb2_grpc


    async def on_asyncio(channel: grpc.aio.Channel) -> None:
        accounts = accounts_pb2_grpc.AccountsStub(channel)
        assert_type(await accounts.GetMe(empty_pb2.Empty()), accounts_pb2.User)
        brand = await accounts.CreateBrand(accounts_pb2.CreateBrandRequest(title="t"), timeout=2)
        assert_type(brand.title, str)

        async def parts():
            yield media_pb2.UploadObjectRequest()

        stored = await media_pb2_grpc.MediaStub(channel).UploadObject(parts())
        assert_type(stored, media_pb2.StoredObject)


    def blocking(channel: grpc.Channel) -> None:
        accounts = accounts_pb2_grpc.AccountsStub(channel)
        assert_type(accounts.GetMe(empty_pb2.Empty()), accounts_pb2.User)


    async def wrong_request(channel: grpc.aio.Channel) -> None:
        await accounts_pb2_grpc.AccountsStub(channel).GetMe(accounts_pb2.LogOutRequest())  # ERROR
"""


def test_the_generated_stubs_type_calls_and_replies(tmp_path):
    snippet = tmp_path / "typed_calls.py"
    snippet.write_text(textwrap.dedent(TYPED_CALLS))

    out, err, status = mypy_api.run(
        ["--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache"), str(snippet)]
    )

    errors = [line for line in out.splitlines() if ": error:" in line]
    expected_line = next(n for n, line in enumerate(snippet.read_text().splitlines(), 1) if "# ERROR" in line)
    assert len(errors) == 1, out + err
    assert f"typed_calls.py:{expected_line}: error: Argument 1" in errors[0], errors[0]
    assert '"LogOutRequest"' in errors[0] and "[arg-type]" in errors[0]
    assert status == 1
