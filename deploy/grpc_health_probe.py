"""Container healthcheck of a gRPC service through the standard grpc.health.v1 service.

    python deploy/grpc_health_probe.py ADDRESS [SERVICE]

Exits 0 when the server answers SERVING within 1 s; otherwise prints one line saying why and exits 1.
Health stays open without the internal token (services.common.grpc_server), so no secret is needed.
"""

from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_S = 1.0


def check(address: str, service: str = "") -> str:
    """The serving status name, or the gRPC status code name when there is no answer."""
    with grpc.insecure_channel(address) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT_S
            )
        except grpc.RpcError as exc:
            return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print("usage: grpc_health_probe.py ADDRESS [SERVICE]", file=sys.stderr)
        return 2
    status = check(argv[1], argv[2] if len(argv) == 3 else "")
    print(f"{argv[1]}: {status}")
    return 0 if status == "SERVING" else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
