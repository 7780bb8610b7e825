"""The accounts service as a real process: health, dependency check, internal token."""

import uuid

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.context import USER_ID_HEADER
from services.common.grpc_client import open_channel
from services.common.password_policy import TOO_COMMON
from tests.support.api import unique_email
from zapcut.accounts.v1 import accounts_pb2 as pb
from zapcut.accounts.v1 import accounts_pb2_grpc
from zapcut.common.v1 import dependencies_pb2


async def test_accounts_is_serving(grpc_channel):
    reply = await health_pb2_grpc.HealthStub(grpc_channel("accounts")).Check(
        health_pb2.HealthCheckRequest(service="accounts"), timeout=2
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_accounts_reports_postgres_and_redis(accounts_stub):
    reply = await accounts_stub.CheckDependencies(dependencies_pb2.CheckDependenciesRequest())
    assert [(d.name, d.ok) for d in reply.dependencies] == [("postgres", True), ("redis", True)]


async def test_internal_token_is_required(stack):
    channel = open_channel(stack.grpc_address("accounts"), "not-the-token")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await accounts_pb2_grpc.AccountsStub(channel).CheckDependencies(
            dependencies_pb2.CheckDependenciesRequest()
        )
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    await channel.close()


async def test_signup_refuses_a_common_password_whoever_calls(accounts_stub):
    """The gateway refuses it with a field error; a caller of the gRPC API is refused too."""
    request = pb.SignUpRequest(email=unique_email("direct"), name="Direct", password="Password1")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await accounts_stub.SignUp(request)

    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == f"password: {TOO_COMMON}"


async def test_a_malformed_id_is_invalid_argument_as_in_every_service(accounts_stub):
    """One status code for a malformed id in every service: INVALID_ARGUMENT (422 at the gateway)."""
    as_user = ((USER_ID_HEADER, str(uuid.uuid4())),)
    for bad in ("", "42", "not-a-uuid"):
        for call, request in [
            (accounts_stub.GetBrand, pb.GetBrandRequest(id=bad)),
            (accounts_stub.GetProject, pb.GetProjectRequest(id=bad)),
            (accounts_stub.ListMessages, pb.ListMessagesRequest(ad_project_id=bad)),
        ]:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await call(request, metadata=as_user)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, err.value.details())
