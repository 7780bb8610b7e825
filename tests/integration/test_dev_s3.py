"""The S3 server of `make dev` (devstack/s3_server.py, a real process on a free port) keeps what media
relies on across a restart: buckets, versioning, every version with its id, presigned URLs made
before, multipart uploads in progress, lifecycle rules; and a SIGKILL loses only the last moment.
"""

from __future__ import annotations

import hashlib
import signal
import time

import boto3
import httpx
import pytest

from devstack import backing
from devstack.processes import free_port
from devstack.s3_snapshot import STATE_FILE

BUCKET = "zapcut-adgen-dev"
MIB = 1024 * 1024


@pytest.fixture
def s3_dir(tmp_path):
    return tmp_path / "s3"


@pytest.fixture
def server(s3_dir):
    """start() runs the server on one port with its data in s3_dir; stopped at the end."""
    port = free_port()
    running = []

    def start():
        server = backing.start_s3(port, data_dir=s3_dir)
        running.append(server)
        return server

    yield start
    for server in running:
        server.process.stop()


def client(server):
    return boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="devstack",
        aws_secret_access_key="devstack",
    )


def test_objects_versions_presigned_urls_and_multipart_uploads_survive_a_restart(server):
    first = server()
    s3 = client(first)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    rule = {
        "ID": "abort-incomplete-multipart-uploads",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
    }
    s3.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [rule]})
    key = "product-images/b/product.png"
    v1 = s3.put_object(Bucket=BUCKET, Key=key, Body=b"first", ContentType="image/png")["VersionId"]
    v2 = s3.put_object(Bucket=BUCKET, Key=key, Body=b"second")["VersionId"]
    s3.put_object(Bucket=BUCKET, Key="gone", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="gone")  # leaves a delete marker
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="scene-videos/p/g/scene_1.mp4")["UploadId"]
    part1 = s3.upload_part(
        Bucket=BUCKET, Key="scene-videos/p/g/scene_1.mp4", UploadId=upload, PartNumber=1, Body=b"a" * 5 * MIB
    )["ETag"]
    old_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": key, "VersionId": v1}, ExpiresIn=600
    )
    # SIGTERM: the final write. A minute before SIGKILL (the default is 15 s): on a loaded 2-core
    # machine, pickling the state and writing a 5 MiB part once took longer than 15 s.
    first.process.stop(timeout_s=60)
    assert first.process.returncode == 0

    s3 = client(server())
    assert httpx.get(old_url).content == b"first"
    head = s3.head_object(Bucket=BUCKET, Key=key, VersionId=v1)
    assert head["ContentType"] == "image/png"
    assert head["ContentLength"] == 5
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"second"
    versions = s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
    assert [(v["VersionId"], v["IsLatest"]) for v in versions] == [(v2, True), (v1, False)]
    markers = s3.list_object_versions(Bucket=BUCKET, Prefix="gone")["DeleteMarkers"]
    assert len(markers) == 1
    assert s3.get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"
    assert s3.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"] == [rule]

    part2 = s3.upload_part(
        Bucket=BUCKET, Key="scene-videos/p/g/scene_1.mp4", UploadId=upload, PartNumber=2, Body=b"b"
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="scene-videos/p/g/scene_1.mp4",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part1}, {"PartNumber": 2, "ETag": part2}]},
    )
    body = s3.get_object(Bucket=BUCKET, Key="scene-videos/p/g/scene_1.mp4")["Body"].read()
    assert body == b"a" * 5 * MIB + b"b"


def test_a_killed_server_keeps_what_it_had_written(server, s3_dir):
    first = server()
    s3 = client(first)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="audio/p/g/voiceover_1.mp3", Body=b"voice")
    # The server writes the object's bytes, then the state naming them, shortly after the put and
    # by itself: wait for both, then kill it without warning.
    blob = s3_dir / "blobs" / hashlib.sha256(b"voice").hexdigest()
    state = s3_dir / STATE_FILE
    deadline = time.monotonic() + 60
    while not (blob.exists() and state.exists() and state.stat().st_mtime_ns >= blob.stat().st_mtime_ns):
        assert time.monotonic() < deadline, "the server never wrote its state"
        time.sleep(0.1)
    first.process.signal_group(signal.SIGKILL)
    first.process.popen.wait(10)

    s3 = client(server())
    assert s3.get_object(Bucket=BUCKET, Key="audio/p/g/voiceover_1.mp3")["Body"].read() == b"voice"


def test_deleted_objects_free_their_bytes_on_disk(server, s3_dir):
    first = server()
    s3 = client(first)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="brand-assets/b/a.pdf", Body=b"%PDF-1.4 one")
    s3.put_object(Bucket=BUCKET, Key="brand-assets/b/b.pdf", Body=b"%PDF-1.4 two")
    s3.delete_object(Bucket=BUCKET, Key="brand-assets/b/a.pdf")  # unversioned: gone for good
    first.process.stop(timeout_s=60)  # as above
    assert len(list((s3_dir / "blobs").iterdir())) == 1

    s3 = client(server())
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["brand-assets/b/b.pdf"]
