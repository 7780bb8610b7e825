"""jobs: generation jobs and LoRA models; the gRPC service (api/) and the RQ workers that run the
work (worker/), with packages by domain between them (docs/architecture.md, Layout of services/jobs)."""

import os

# Workers fork (RQ's work horses), and horses start FFmpeg through a preexec hook, which runs
# gRPC's at-fork handlers in the child: with a channel open they abort it ("epoll_wait error: Bad
# file descriptor"). Nothing here carries gRPC across a fork, so that support is off. It must be
# set before grpc is first imported, which this package's import precedes.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
