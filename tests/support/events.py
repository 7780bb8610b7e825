"""The events stream the outbox relay publishes to (Redis), as tests read it."""

from __future__ import annotations

STREAM = "zapcut:events"


def stream_events(redis_client, aggregate_id: str) -> list[tuple[bytes, dict]]:
    """The entries of the events stream about aggregate_id (the relay's XADDs)."""
    return [
        (entry, fields)
        for entry, fields in redis_client.xrange(STREAM)
        if fields[b"aggregate_id"].decode() == aggregate_id
    ]
