"""What a failure tells the user (services.jobs.failures), as plain unit tests, including a call to
a service that is not listening. The parts that need processes or Redis:
tests/integration/test_recovery_parts.py."""

from __future__ import annotations

import uuid

import grpc
import pytest

from devstack.processes import free_port
from services.common.errors import InvalidArgument
from services.jobs import failures
from services.jobs.clients import ServiceCallFailed, ServiceCalls
from services.jobs.config import Settings
from services.jobs.media_types import InputError, PermanentProviderError
from tests.support.stack import INTERNAL_TOKEN, SECRET_KEY
from zapcut.media.v1 import media_pb2


def test_each_failure_is_one_readable_sentence_naming_the_step_and_its_fault():
    corrupt = failures.explain(InputError("p0.png is corrupt or not a readable image:\n broken data"))
    assert corrupt == failures.Failure("p0.png is corrupt or not a readable image: broken data", "user")
    assert failures.sentence("scene_2", corrupt.clause) == (
        "Scene 2 failed: p0.png is corrupt or not a readable image: broken data."
    )
    provider = failures.explain(PermanentProviderError("the prediction failed: NSFW content detected."))
    assert failures.sentence("voiceover", provider.clause) == (
        "The voiceover failed: the prediction failed: NSFW content detected."
    )
    assert provider.fault == "system"
    assert failures.sentence(
        None, failures.explain(InvalidArgument("n must be a positive integer")).clause
    ) == ("The job failed: n must be a positive integer.")
    # An exception nobody wrote for users says nothing of itself (it goes to the log with a traceback).
    bug = failures.explain(KeyError("plan['scenes']"))
    assert (bug.clause, bug.fault, bug.expected) == ("an internal error stopped it", "system", False)
    assert failures.explain(PermanentProviderError("x" * 5000)).clause.endswith("…")
    assert failures.label("composite") == "The composite" and failures.label("scene_12") == "Scene 12"


def test_a_call_to_a_service_that_is_not_listening_fails_readably_and_transiently(tmp_path):
    settings = Settings(
        _env_file=None,
        database_url="postgresql+psycopg://unused@127.0.0.1:1/unused",
        redis_url="redis://127.0.0.1:1/0",
        internal_token=INTERNAL_TOKEN,
        secret_key=SECRET_KEY,
        media_addr=f"127.0.0.1:{free_port()}",
        grpc_deadline_s=0.5,
    )
    output = tmp_path / "scene_1.mp4"
    output.write_bytes(b"\0" * 1024)
    ref = media_pb2.ObjectRef(
        scene_video=media_pb2.SceneVideo(project_id=str(uuid.uuid4()), generation_id=str(uuid.uuid4()), n=1)
    )
    calls = ServiceCalls(settings)
    try:
        with pytest.raises(ServiceCallFailed) as short:
            calls.presign_downloads(["product-images/x/p.png"])
        with pytest.raises(ServiceCallFailed) as upload:
            calls.upload_file(ref, output, "video/mp4", timeout_s=0.5)
    finally:
        calls.close()
    # wait_for_ready: a short call waits for the channel until its deadline; the upload fails fast.
    assert short.value.code == grpc.StatusCode.DEADLINE_EXCEEDED and short.value.transient
    assert str(short.value) == "the media service did not answer in time while fetching the inputs"
    assert upload.value.code == grpc.StatusCode.UNAVAILABLE and upload.value.transient
    assert str(upload.value) == "the media service was unavailable while storing the output"
    explained = failures.explain(upload.value)
    assert "\n" not in explained.clause and "debug_error_string" not in explained.clause
    refused = ServiceCallFailed("media", "storing the output", grpc.StatusCode.INVALID_ARGUMENT, "bad\nkey")
    assert not refused.transient
    assert str(refused) == "the media service failed while storing the output: bad key"
