"""Getting the bucket ready at start-up: it exists, versioning is on, incomplete multipart uploads
are aborted after 7 days, staging uploads expire after a day, and the layout's prefixes are there.
Safe to run on every start, by several replicas at once."""

from __future__ import annotations

import logging

from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_delay, wait_exponential

from services.common.errors import ServiceError, Unavailable
from services.media.keys import INCOMING, PREFIXES
from services.media.storage import S3Storage

log = logging.getLogger(__name__)

ABORT_INCOMPLETE_MULTIPART_AFTER_DAYS = 7
# Confirm copies a staging upload to its key and removes it; what nobody confirmed (or a PUT to
# the same URL after confirm) S3 removes after this long, every version of it.
EXPIRE_STAGING_AFTER_DAYS = 1

LIFECYCLE_RULES = [
    {
        "ID": "abort-incomplete-multipart-uploads",
        "Filter": {"Prefix": ""},
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_INCOMPLETE_MULTIPART_AFTER_DAYS},
    },
    {
        "ID": "expire-staging-uploads",
        "Filter": {"Prefix": INCOMING},
        "Status": "Enabled",
        # The current version gets a delete marker, older ones go a day after that; S3 then
        # removes the delete markers that are left with nothing behind them.
        "Expiration": {"Days": EXPIRE_STAGING_AFTER_DAYS},
        "NoncurrentVersionExpiration": {"NoncurrentDays": EXPIRE_STAGING_AFTER_DAYS},
    },
]


class BucketNotReady(RuntimeError):
    pass


async def prepare_bucket(storage: S3Storage, timeout_s: float) -> None:
    """Wait up to timeout_s for S3 to answer, then set the bucket up; BucketNotReady if it can't."""
    retrying = AsyncRetrying(
        stop=stop_after_delay(timeout_s),
        wait=wait_exponential(multiplier=0.5, max=5),
        retry=retry_if_exception_type(Unavailable),
        before_sleep=lambda state: log.warning(
            "s3 at %s not ready (%s); retrying", storage.endpoint, state.outcome and state.outcome.exception()
        ),
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                await _set_up(storage)
    except ServiceError as exc:
        raise BucketNotReady(
            f"media: cannot prepare bucket {storage.bucket} at {storage.endpoint}: {exc.message}"
        ) from None


async def _set_up(storage: S3Storage) -> None:
    if await storage.create_bucket_if_missing():
        log.info("created bucket %s", storage.bucket)
    await storage.enable_versioning()
    await storage.ensure_lifecycle_rules(LIFECYCLE_RULES)
    for prefix in PREFIXES:
        await storage.ensure_marker(prefix)
    log.info("bucket %s ready at %s", storage.bucket, storage.endpoint)
