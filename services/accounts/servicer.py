"""gRPC servicer of accounts: translates between protobuf and the domain modules."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from zapcut.accounts.v1 import accounts_pb2_grpc

from services.common.db import ping
from services.common.probes import check_all


class AccountsServicer(accounts_pb2_grpc.AccountsServicer):
    def __init__(self, engine: AsyncEngine, probe_timeout_s: float):
        self.engine = engine
        self.probe_timeout_s = probe_timeout_s

    async def CheckDependencies(self, request, context):
        return await check_all({"postgres": lambda: ping(self.engine)}, self.probe_timeout_s)
