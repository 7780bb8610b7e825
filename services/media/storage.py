"""S3 access, the only place boto3 is used. Every call runs in a worker thread (asyncio.to_thread)
so the grpc.aio loop never blocks, and every failure comes out as a ServiceError (s3_errors)."""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from services.media.config import Settings
from services.media.s3_errors import error_code, is_not_found, service_error

log = logging.getLogger(__name__)

DELETE_BATCH = 1000  # the most keys DeleteObjects takes at once


@dataclass(frozen=True)
class GetUrl:
    """What a presigned GET is for: key (that version, when given), and the Content-Type and
    Content-Disposition S3 answers it with, whatever the object's metadata says."""

    key: str
    version_id: str | None = None
    content_type: str | None = None
    content_disposition: str | None = None


@dataclass(frozen=True)
class ObjectHead:
    size: int
    content_type: str
    version_id: str | None
    last_modified: datetime


@dataclass(frozen=True)
class ListedObject:
    key: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class ObjectPage:
    objects: list[ListedObject]
    next_token: str | None


def _client(settings: Settings, session: boto3.session.Session, endpoint_url: str | None):
    config = Config(
        region_name=settings.aws_region,
        signature_version="s3v4",
        connect_timeout=settings.s3_connect_timeout_s,
        read_timeout=settings.s3_read_timeout_s,
        retries={"max_attempts": settings.s3_max_attempts, "mode": "standard"},
        max_pool_connections=settings.s3_max_pool_connections,
        # S3-compatible servers (MinIO, moto) are reached by host:port, not bucket subdomains.
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        # Newer botocore adds CRC32 checksums by default, which presigned URLs and some
        # S3-compatible servers do not handle; checksums are ours to compute (SHA-256).
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return session.client("s3", endpoint_url=endpoint_url, config=config)


class S3Storage:
    def __init__(self, settings: Settings):
        key_id, secret = settings.aws_access_key_id, settings.aws_secret_access_key
        session = boto3.session.Session(
            aws_access_key_id=key_id.get_secret_value() if key_id else None,
            aws_secret_access_key=secret.get_secret_value() if secret else None,
            region_name=settings.aws_region,
        )
        self.bucket = settings.aws_s3_bucket
        self.region = settings.aws_region
        self.endpoint = settings.aws_s3_endpoint_url or "AWS"
        self._s3 = _client(settings, session, settings.aws_s3_endpoint_url)
        # Presigned URLs are signed for the host the client will use, which may differ from ours.
        public = settings.aws_s3_public_endpoint_url
        self._presigner = (
            self._s3 if public == settings.aws_s3_endpoint_url else _client(settings, session, public)
        )

    async def _call(self, operation: str, key: str | None, fn: Callable[..., Any], /, **kwargs) -> Any:
        try:
            return await asyncio.to_thread(fn, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise service_error(exc, operation, key) from None

    # --- objects -------------------------------------------------------------------------------

    async def head(self, key: str) -> ObjectHead | None:
        try:
            reply = await asyncio.to_thread(self._s3.head_object, Bucket=self.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            if is_not_found(exc):
                return None
            raise service_error(exc, "head", key) from None
        return ObjectHead(
            size=reply["ContentLength"],
            content_type=reply.get("ContentType", ""),
            version_id=_version(reply),
            last_modified=reply["LastModified"],
        )

    async def read_start(self, key: str, version_id: str | None, n: int) -> bytes:
        """The first n bytes of that version of key (fewer if it is shorter), by a ranged GET."""
        kwargs = {"VersionId": version_id} if version_id else {}
        return await self._call("read start", key, self._read_start_sync, key=key, n=n, **kwargs)

    def _read_start_sync(self, key: str, n: int, **kwargs) -> bytes:
        reply = self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{n - 1}", **kwargs)
        with reply["Body"] as body:
            return body.read(n)

    async def copy(
        self, source_key: str, source_version: str | None, key: str, content_type: str
    ) -> str | None:
        """Server-side copy of one version of source_key to key, stored with content_type (whatever
        the source says); the new version's id. S3 copies up to 5 GiB this way."""
        source = {"Bucket": self.bucket, "Key": source_key}
        if source_version:
            source["VersionId"] = source_version
        reply = await self._call(
            "copy",
            key,
            self._s3.copy_object,
            Bucket=self.bucket,
            Key=key,
            CopySource=source,
            MetadataDirective="REPLACE",
            ContentType=content_type,
        )
        return _version(reply)

    async def put(self, key: str, body: bytes, content_type: str) -> str | None:
        reply = await self._call(
            "put", key, self._s3.put_object, Bucket=self.bucket, Key=key, Body=body, ContentType=content_type
        )
        return _version(reply)

    async def start_multipart(self, key: str, content_type: str) -> str:
        reply = await self._call(
            "create multipart upload",
            key,
            self._s3.create_multipart_upload,
            Bucket=self.bucket,
            Key=key,
            ContentType=content_type,
        )
        return reply["UploadId"]

    async def upload_part(self, key: str, upload_id: str, number: int, body: bytes) -> dict:
        reply = await self._call(
            "upload part",
            key,
            self._s3.upload_part,
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=body,
        )
        return {"PartNumber": number, "ETag": reply["ETag"]}

    async def complete_multipart(self, key: str, upload_id: str, parts: list[dict]) -> str | None:
        reply = await self._call(
            "complete multipart upload",
            key,
            self._s3.complete_multipart_upload,
            Bucket=self.bucket,
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": parts},
        )
        return _version(reply)

    async def abort_multipart(self, key: str, upload_id: str) -> None:
        """Best effort: what is left behind, the bucket's lifecycle rule removes after 7 days."""
        try:
            await self._call(
                "abort multipart upload",
                key,
                self._s3.abort_multipart_upload,
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
            )
        except Exception:  # noqa: BLE001 - already failing; the original error is what matters
            log.warning("could not abort multipart upload %s of %s", upload_id, key)

    async def delete_version(self, key: str, version_id: str | None) -> None:
        kwargs = {"VersionId": version_id} if version_id else {}
        await self._call("delete", key, self._s3.delete_object, Bucket=self.bucket, Key=key, **kwargs)

    async def delete_all_versions(self, key: str) -> int:
        """Remove every version and delete marker of exactly `key`; the number of versions removed.

        With versioning on, a plain DELETE only hides an object behind a marker."""
        return await self._call(
            "delete all versions", key, self._delete_versions_sync, prefix=key, exact=True
        )

    async def delete_everything_under(self, prefix: str) -> int:
        """Remove every version and delete marker of every key under `prefix` (an owner's folder)."""
        return await self._call(
            "delete prefix", prefix, self._delete_versions_sync, prefix=prefix, exact=False
        )

    def _delete_versions_sync(self, prefix: str, exact: bool) -> int:
        doomed, removed = [], 0
        paginator = self._s3.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for entry_kind in ("Versions", "DeleteMarkers"):
                for v in page.get(entry_kind, []):
                    # For one key, the prefix also matches longer keys (x.png.bak): keep the exact one.
                    if not exact or v["Key"] == prefix:
                        doomed.append({"Key": v["Key"], "VersionId": v["VersionId"]})
                        removed += entry_kind == "Versions"
        for start in range(0, len(doomed), DELETE_BATCH):
            reply = self._s3.delete_objects(
                Bucket=self.bucket, Delete={"Objects": doomed[start : start + DELETE_BATCH], "Quiet": True}
            )
            if errors := reply.get("Errors"):
                # DeleteObjects answers 200 and lists the keys it could not delete.
                raise ClientError({"Error": errors[0]}, "DeleteObjects")
        return removed

    async def list(self, prefix: str, limit: int, page_token: str | None) -> ObjectPage:
        kwargs = {"ContinuationToken": page_token} if page_token else {}
        reply = await self._call(
            "list",
            prefix,
            self._s3.list_objects_v2,
            Bucket=self.bucket,
            Prefix=prefix,
            MaxKeys=limit,
            **kwargs,
        )
        objects = [ListedObject(o["Key"], o["Size"], o["LastModified"]) for o in reply.get("Contents", [])]
        token = reply.get("NextContinuationToken") if reply.get("IsTruncated") else None
        return ObjectPage(objects, token)

    # --- presigned URLs ------------------------------------------------------------------------

    async def presign_gets(self, gets: builtins.list[GetUrl], expires_s: int) -> builtins.list[str]:
        """GET URLs, signed together in one trip to a worker thread: signing is local computation,
        and a thread hop per URL cost more than the signing (a page of brands signs many)."""

        def sign_all() -> builtins.list[str]:
            return [
                self._presigner.generate_presigned_url(
                    ClientMethod="get_object", Params=self._get_params(get), ExpiresIn=expires_s
                )
                for get in gets
            ]

        return await self._call("presign download", gets[0].key if len(gets) == 1 else None, sign_all)

    def _get_params(self, get: GetUrl) -> dict[str, str]:
        params = {"Bucket": self.bucket, "Key": get.key}
        if get.version_id:
            params["VersionId"] = get.version_id
        if get.content_type:
            params["ResponseContentType"] = get.content_type
        if get.content_disposition:
            params["ResponseContentDisposition"] = get.content_disposition
        return params

    async def presign_put(self, key: str, content_type: str, size: int, expires_s: int) -> str:
        # Content-Type and Content-Length are signed: S3 refuses a PUT whose headers differ.
        return await self._call(
            "presign upload",
            key,
            self._presigner.generate_presigned_url,
            ClientMethod="put_object",
            Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type, "ContentLength": size},
            ExpiresIn=expires_s,
        )

    # --- the bucket ----------------------------------------------------------------------------

    async def head_bucket(self) -> None:
        await self._call("head bucket", None, self._s3.head_bucket, Bucket=self.bucket)

    async def create_bucket_if_missing(self) -> bool:
        """True when the bucket was created now."""
        return await self._call("create bucket", None, self._create_bucket_if_missing_sync)

    def _create_bucket_if_missing_sync(self) -> bool:
        try:
            self._s3.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if not is_not_found(exc) and error_code(exc) != "NoSuchBucket":
                raise
        kwargs = {}
        if self.region != "us-east-1":  # S3 rejects an explicit us-east-1 location
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
        try:
            self._s3.create_bucket(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if error_code(exc) != "BucketAlreadyOwnedByYou":  # another replica was quicker
                raise
            return False
        return True

    async def enable_versioning(self) -> None:
        await self._call(
            "enable versioning",
            None,
            self._s3.put_bucket_versioning,
            Bucket=self.bucket,
            VersioningConfiguration={"Status": "Enabled"},
        )

    # builtins.list: in this class, `list` is the method below.
    async def ensure_lifecycle_rules(self, ours: builtins.list[dict]) -> None:
        """Make each of these lifecycle rules part of the bucket's configuration (matched by ID)."""
        await self._call("lifecycle", None, self._ensure_lifecycle_rules_sync, ours=ours)

    def _ensure_lifecycle_rules_sync(self, ours: builtins.list[dict]) -> None:
        # Keep rules someone else added: the PUT replaces the bucket's whole lifecycle configuration.
        try:
            rules = self._s3.get_bucket_lifecycle_configuration(Bucket=self.bucket).get("Rules", [])
        except ClientError as exc:
            if error_code(exc) != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        if all(rule in rules for rule in ours):
            return
        our_ids = {rule["ID"] for rule in ours}
        rules = [r for r in rules if r.get("ID") not in our_ids] + ours
        self._s3.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={"Rules": rules}
        )

    async def ensure_marker(self, prefix: str) -> None:
        """A zero-byte `prefix` object, written only when missing (each PUT would add a version)."""
        if await self.head(prefix) is None:
            await self.put(prefix, b"", "application/x-directory")


def _version(reply: dict) -> str | None:
    # Unversioned buckets answer "null" (or nothing).
    version = reply.get("VersionId")
    return version if version and version != "null" else None
