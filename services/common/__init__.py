"""What every service shares: settings, logging, gRPC server and client plumbing, database access."""
