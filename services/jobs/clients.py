"""Blocking calls to media, for the synchronous code: the RQ work horses. (What jobs tells
accounts goes through its outbox as events, never a call from here: services.jobs.generation.events.)

The channels come from services.common.grpc_client (open_blocking_channel), like the services'
asyncio ones: every call carries the internal token and a deadline. A failed call raises
ServiceCallFailed, which names the service and what the call was for (a readable message, never
gRPC's debug string) and says whether trying again may help: UNAVAILABLE and DEADLINE_EXCEEDED
(a service restarting, or not listening yet) are transient, the generation steps retry them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc

from services.common.grpc_client import open_blocking_channel
from zapcut.media.v1 import media_pb2, media_pb2_grpc

UPLOAD_CHUNK = 1024 * 1024
TRANSIENT_CODES = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
MAX_DETAILS_CHARS = 200


class ServiceCallFailed(Exception):
    """A call to one of our services failed. str() is one readable clause for users."""

    def __init__(self, service: str, action: str, code: grpc.StatusCode, details: str):
        self.service, self.action, self.code, self.details = service, action, code, details
        super().__init__(self._clause())

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT_CODES

    def _clause(self) -> str:
        if self.code == grpc.StatusCode.UNAVAILABLE:
            return f"the {self.service} service was unavailable while {self.action}"
        if self.code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return f"the {self.service} service did not answer in time while {self.action}"
        # Details of other codes are our own services' one-line messages (never a debug string).
        reason = " ".join(self.details.split())[:MAX_DETAILS_CHARS] or self.code.name.lower().replace(
            "_", " "
        )
        return f"the {self.service} service failed while {self.action}: {reason}"


@contextmanager
def _calling(service: str, action: str):
    try:
        yield
    except grpc.RpcError as exc:
        code = exc.code() if callable(getattr(exc, "code", None)) else grpc.StatusCode.UNKNOWN
        details = exc.details() if callable(getattr(exc, "details", None)) else ""
        raise ServiceCallFailed(service, action, code, details or "") from exc


class ServiceCalls:
    def __init__(self, settings):
        token, deadline_s = settings.internal_token.get_secret_value(), settings.grpc_deadline_s
        self._media_channel = open_blocking_channel(settings.media_addr, token, deadline_s)
        self.media = media_pb2_grpc.MediaStub(self._media_channel)

    def close(self) -> None:
        self._media_channel.close()

    # --- media
    # Short media calls wait for the channel to be ready (within their deadline) rather than fail at
    # once while media restarts; the long upload fails fast and the step's retry covers it.

    def presign_downloads(self, keys: list[str], expires_in_s: int = 3600) -> list[str]:
        with _calling("media", "fetching the inputs"):
            reply = self.media.PresignDownloads(
                media_pb2.PresignDownloadsRequest(
                    refs=[media_pb2.ObjectRef(key=k) for k in keys], expires_in_s=expires_in_s
                ),
                wait_for_ready=True,
            )
        return [u.url for u in reply.urls]

    def upload_file(self, ref: media_pb2.ObjectRef, path: Path, content_type: str, timeout_s: float) -> str:
        """Stream a local file to media in chunks; the stored key."""

        def messages() -> Iterator[media_pb2.UploadObjectRequest]:
            yield media_pb2.UploadObjectRequest(
                header=media_pb2.UploadHeader(
                    ref=ref, content_type=content_type, expected_size=path.stat().st_size
                )
            )
            with path.open("rb") as f:
                while chunk := f.read(UPLOAD_CHUNK):
                    yield media_pb2.UploadObjectRequest(chunk=chunk)
            yield media_pb2.UploadObjectRequest(finish=media_pb2.UploadFinish())

        with _calling("media", "storing the output"):
            stored = self.media.UploadObject(messages(), timeout=timeout_s)
        return stored.key

    def list_keys(self, prefix: str) -> list[str]:
        keys, token = [], ""
        while True:
            with _calling("media", "listing stored files"):
                reply = self.media.ListObjects(
                    media_pb2.ListObjectsRequest(prefix=prefix, limit=1000, page_token=token),
                    wait_for_ready=True,
                )
            keys += [o.key for o in reply.objects]
            if not (token := reply.next_page_token):
                return keys

    def object_exists(self, ref: media_pb2.ObjectRef) -> bool:
        with _calling("media", "checking a stored file"):
            reply = self.media.ObjectExists(media_pb2.ObjectRequest(ref=ref), wait_for_ready=True)
        return reply.exists

    def delete_object(self, key: str) -> None:
        with _calling("media", "deleting a stored file"):
            self.media.DeleteObject(
                media_pb2.ObjectRequest(ref=media_pb2.ObjectRef(key=key)),
                wait_for_ready=True,
            )
