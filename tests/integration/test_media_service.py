"""The media service as a real process against moto's S3 server and PostgreSQL: serving, its
dependencies, the bucket it prepares at start, the start-ups it refuses, its public endpoint, and S3
going down."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from devstack.processes import free_port, grpc_loopback_host, grpc_loopback_target, wait_for_port
from devstack.stack import ROOT
from services.common.grpc_client import open_channel
from tests.support.media import S3_NS, product_image, rpc_error, upload, xml
from zapcut.common.v1 import dependencies_pb2
from zapcut.media.v1 import media_pb2, media_pb2_grpc

PREFIXES = ("generated-videos/", "product-images/", "brand-assets/", "scene-videos/", "audio/", "incoming/")


async def test_media_is_serving(grpc_channel):
    reply = await health_pb2_grpc.HealthStub(grpc_channel("media")).Check(
        health_pb2.HealthCheckRequest(service="media"), timeout=2
    )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_media_reports_postgres_and_s3(media_stub):
    reply = await media_stub.CheckDependencies(dependencies_pb2.CheckDependenciesRequest())
    assert sorted((d.name, d.ok) for d in reply.dependencies) == [("postgres", True), ("s3", True)]


def test_bucket_is_prepared_at_start(s3):
    for prefix in PREFIXES:
        assert s3.head(prefix).status_code == 200, prefix
    versioning = xml(s3.get("", params={"versioning": ""}))
    assert versioning.findtext("s3:Status", namespaces=S3_NS) == "Enabled"
    rules = {
        rule.findtext("s3:ID", namespaces=S3_NS): rule
        for rule in xml(s3.get("", params={"lifecycle": ""})).findall("s3:Rule", S3_NS)
    }
    abort = rules["abort-incomplete-multipart-uploads"]
    assert abort.findtext("s3:AbortIncompleteMultipartUpload/s3:DaysAfterInitiation", namespaces=S3_NS) == "7"
    staging = rules["expire-staging-uploads"]
    assert staging.findtext("s3:Filter/s3:Prefix", namespaces=S3_NS) == "incoming/"
    assert staging.findtext("s3:Expiration/s3:Days", namespaces=S3_NS) == "1"
    assert staging.findtext("s3:NoncurrentVersionExpiration/s3:NoncurrentDays", namespaces=S3_NS) == "1"


def run_media(stack, **overrides) -> subprocess.CompletedProcess:
    env = stack.app_env()
    env["MEDIA_PORT"] = str(free_port())
    env.update(overrides)
    return subprocess.run(
        [sys.executable, "-m", "services.media"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_media_gives_up_on_an_unreachable_s3_with_one_line(stack):
    dead_endpoint = f"http://127.0.0.1:{free_port()}"
    result = run_media(stack, AWS_S3_ENDPOINT_URL=dead_endpoint, S3_STARTUP_TIMEOUT_S="1")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "cannot prepare bucket" in lines[0] and dead_endpoint in lines[0] and "s3 unavailable" in lines[0]


def test_half_configured_credentials_stop_media_at_start(stack):
    # Empty counts as unset (and, unlike a missing variable, also wins over a developer's .env).
    result = run_media(stack, AWS_SECRET_ACCESS_KEY="")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together"
    )


async def test_presigned_urls_use_the_public_endpoint(stack, media_stub):
    """Compose: media reaches MinIO as minio:9000 while clients reach it as localhost:9000."""
    data = b"seen through the public endpoint"
    stored = await upload(media_stub, product_image(), data)
    public = f"http://localhost:{stack.ports.s3}"
    port = free_port()
    env = stack.app_env() | {
        "MEDIA_PORT": str(port),
        "AWS_S3_PUBLIC_ENDPOINT_URL": public,
        "MIGRATE_ON_START": "true",  # already at head: upgrading again is a no-op
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.media"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    channel = open_channel(grpc_loopback_target(port), env["INTERNAL_TOKEN"])
    try:
        await asyncio.to_thread(wait_for_port, port, 60, None, grpc_loopback_host())
        reply = await media_pb2_grpc.MediaStub(channel).PresignDownload(
            media_pb2.PresignDownloadRequest(ref=media_pb2.ObjectRef(key=stored.key))
        )
    finally:
        await channel.close()
        process.terminate()
        process.wait(timeout=30)
    assert reply.url.startswith(f"{public}/{env['AWS_S3_BUCKET']}/{stored.key}?")
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(reply.url)).content == data


async def test_s3_down_is_unavailable_quickly(stack, media_stub, grpc_channel):
    stack.stop_backing_server("s3")
    try:
        # Well inside the deadline, media answers UNAVAILABLE rather than the call timing out.
        err = await rpc_error(
            media_stub.ObjectExists(media_pb2.ObjectRequest(ref=product_image()), timeout=8)
        )
        assert err.code() == grpc.StatusCode.UNAVAILABLE
        assert "s3 unavailable" in err.details()

        err = await rpc_error(upload(media_stub, product_image(), b"bytes"))
        assert err.code() == grpc.StatusCode.UNAVAILABLE

        deps = await media_stub.CheckDependencies(dependencies_pb2.CheckDependenciesRequest(), timeout=8)
        status = {d.name: d for d in deps.dependencies}
        assert status["postgres"].ok
        assert not status["s3"].ok
        assert status["s3"].detail
    finally:
        stack.restart_backing_server("s3")
        stack.stop_app("media")
        stack.start_app("media")
    await _wait_serving(grpc_channel("media"))
    stored = await upload(media_stub, product_image(), b"after the restart")
    assert stored.size == len(b"after the restart")


async def _wait_serving(channel, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    stub = health_pb2_grpc.HealthStub(channel)
    while True:
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service="media"), timeout=1)
            if reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)
