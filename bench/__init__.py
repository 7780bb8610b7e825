"""`make bench`: latency and throughput figures against a running `make dev` stack (loopback only).

Each figure is shown beside the original target and beside a floor measured in the same run (a
trivial local HTTP endpoint, the services' own gRPC health checks; for the accounts/workspace API,
GET /api/health), so it reads as a ratio that means something on any machine.
"""
