"""The gRPC service config of every channel to our services: round-robin over every address the
target resolves to (several listed, or a headless Service's pods through `dns:///`), and a retry
policy on UNAVAILABLE and CANCELLED for the methods that are safe to send twice.

Which methods are retried is decided here and nowhere else. Reads go by a naming rule on the
protos' method names (READ_PREFIXES); writes that are idempotent by design are listed by name with
the reason; every other method is listed as not retried, with the reason. tests/unit/
test_service_config.py fails when a method of a proto is in neither list, so a new method has to
be placed on purpose.

Methods that are not retried still get gRPC's transparent retry: a call the server never saw (the
stream refused by a replica that is shutting down, the connection gone before it was sent) is sent
again to another replica whatever the policy; only a call a server may have run is left alone.
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.descriptor import ServiceDescriptor

from zapcut.accounts.v1 import accounts_pb2
from zapcut.jobs.v1 import jobs_pb2
from zapcut.media.v1 import media_pb2

SERVICES: tuple[ServiceDescriptor, ...] = (
    accounts_pb2.DESCRIPTOR.services_by_name["Accounts"],
    accounts_pb2.DESCRIPTOR.services_by_name["AccountsAdmin"],
    media_pb2.DESCRIPTOR.services_by_name["Media"],
    jobs_pb2.DESCRIPTOR.services_by_name["Jobs"],
)

# A method whose name starts with one of these only reads (Authenticate looks a token up, Presign*
# signs URLs without recording anything, ObjectExists is a HEAD).
READ_PREFIXES = ("Get", "List", "Check", "Authenticate", "Presign", "ObjectExists")

# Writes that give the same result when run twice (full method name -> why).
IDEMPOTENT_WRITES = {
    "zapcut.accounts.v1.Accounts/UpdateBrand": "sets the given fields to the given values",
    "zapcut.accounts.v1.Accounts/UpdateProject": "sets the given fields to the given values",
    "zapcut.accounts.v1.Accounts/AddBrandFile": "records a stored key; again, the same file",
    "zapcut.accounts.v1.Accounts/PutScript": "replaces the script with the one given",
    "zapcut.accounts.v1.Accounts/ApproveScript": "approving an approved script keeps it approved",
    "zapcut.accounts.v1.Accounts/ChargeGeneration": "charges once per generation_id",
    "zapcut.accounts.v1.AccountsAdmin/SetTier": "sets the tier; its renewal is once per user and period",
    "zapcut.accounts.v1.AccountsAdmin/RenewTiers": "grants once per user and period",
    "zapcut.jobs.v1.Jobs/StartGeneration": "the gateway always sends an idempotency key",
    "zapcut.jobs.v1.Jobs/RegenerateScene": "the gateway always sends an idempotency key",
    "zapcut.jobs.v1.Jobs/SetLoraApproval": "sets approved to the value given",
    "zapcut.jobs.v1.Jobs/UpdateWebhookEndpoint": "sets the given fields to the given values",
    "zapcut.jobs.v1.Jobs/RenderVoiceSample": "queues the sample's one render unless it is queued",
    "zapcut.media.v1.Media/ConfirmUpload": "repeated after success it answers the file as recorded",
    "zapcut.media.v1.Media/DeleteObject": "deleting a deleted object deletes nothing",
}

# Writes that must not be sent twice blindly (full method name -> why).
NOT_RETRIED = {
    "zapcut.accounts.v1.Accounts/SignUp": "a second run answers ALREADY_EXISTS for the user it created",
    "zapcut.accounts.v1.Accounts/LogIn": "creates a session and counts failed password checks",
    "zapcut.accounts.v1.Accounts/LogOut": "a second run finds the session gone",
    "zapcut.accounts.v1.Accounts/UpdateMe": "a repeated password change fails its current-password check",
    "zapcut.accounts.v1.Accounts/WatchRevocations": (
        "a long-lived stream the gateway reopens itself, emptying its cache until it is back"
    ),
    "zapcut.accounts.v1.Accounts/DeleteMe": "a second run finds the user gone",
    "zapcut.accounts.v1.Accounts/CreateBrand": "creates a brand each time",
    "zapcut.accounts.v1.Accounts/DeleteBrand": "a second run answers NOT_FOUND",
    "zapcut.accounts.v1.Accounts/RemoveBrandFile": "a second run answers NOT_FOUND",
    "zapcut.accounts.v1.Accounts/CreateProject": "creates a project each time",
    "zapcut.accounts.v1.Accounts/DeleteProject": "a second run answers NOT_FOUND",
    "zapcut.accounts.v1.Accounts/AddMessage": "adds a message each time",
    "zapcut.accounts.v1.Accounts/ReplyToMessage": "stores messages, and its UNAVAILABLE is the model's",
    "zapcut.accounts.v1.Accounts/DraftScript": "asks the model again, and its UNAVAILABLE is the model's",
    "zapcut.accounts.v1.AccountsAdmin/GrantCredits": "grants the credits again each time",
    "zapcut.jobs.v1.Jobs/CreateJob": "creates a job each time (no id from the caller)",
    "zapcut.jobs.v1.Jobs/CancelGeneration": "a second run answers FAILED_PRECONDITION (already ended)",
    "zapcut.jobs.v1.Jobs/StartLoraTraining": "starts a training each time",
    "zapcut.jobs.v1.Jobs/ReceiveReplicateWebhook": (
        "a second run refuses the webhook-id the first claimed; Replicate retries a failed delivery"
    ),
    "zapcut.jobs.v1.Jobs/CreateWebhookEndpoint": "creates an endpoint (and a secret shown once) each time",
    "zapcut.jobs.v1.Jobs/DeleteWebhookEndpoint": "a second run answers NOT_FOUND",
    "zapcut.jobs.v1.Jobs/RotateWebhookSecret": "a second run makes another secret than the one answered",
    "zapcut.media.v1.Media/UploadObject": "a client stream: the bytes sent are not kept to send again",
}

RETRY_POLICY = {
    # Up to 3 s of backoff in all (each wait random up to 0.2, 0.4, 0.8, 1.6 s), inside the default
    # 5 s deadline and longer than a channel's reconnect backoff (2 s at most), so a call made while
    # one replica stops and the other is still being reconnected to finds the second one.
    "maxAttempts": 5,
    "initialBackoff": "0.2s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    # CANCELLED: a server that stops (SIGTERM, a rolling restart) resets the streams that reach it
    # after it began shutting down and before its GOAWAY reached the client (RST_STREAM CANCEL);
    # such a call never ran, and another replica answers it. A call this process cancels itself
    # is never retried, whatever the policy.
    "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
}


def all_methods() -> list[str]:
    """Every method of our services, as "package.Service/Method"."""
    return [f"{service.full_name}/{method.name}" for service in SERVICES for method in service.methods]


def is_read(method: str) -> bool:
    return method.rpartition("/")[2].startswith(READ_PREFIXES)


def retried_methods() -> list[str]:
    return [m for m in all_methods() if is_read(m) or m in IDEMPOTENT_WRITES]


def service_config() -> dict[str, Any]:
    names = []
    for method in retried_methods():
        service, _, name = method.partition("/")
        names.append({"service": service, "method": name})
    return {
        "loadBalancingConfig": [{"round_robin": {}}],
        # Client-side health checking (gRFC A17): each connection watches the server's overall
        # health (grpc.health.v1 Watch, service ""), and round_robin sends nothing to a replica
        # that says NOT_SERVING. A stopping replica says so first and keeps serving for
        # SHUTDOWN_DRAIN_S (services/common/grpc_server.py), so no call reaches it as it stops:
        # a create, which is not retried, would fail there (CANCELLED) rather than go elsewhere.
        "healthCheckConfig": {"serviceName": ""},
        "methodConfig": [{"name": names, "retryPolicy": RETRY_POLICY}],
    }


def channel_options() -> list[tuple[str, int | str]]:
    """The options that put the service config on a channel."""
    return [
        ("grpc.service_config", json.dumps(service_config())),
        ("grpc.enable_retries", 1),
        # Ours, not whatever a DNS TXT record says.
        ("grpc.service_config_disable_resolution", 1),
    ]
