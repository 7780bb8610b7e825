"""The jobs service (`python -m services.jobs`; asyncio): server (wiring), servicer (protobuf <->
domain), reconciler (keeps RQ in step with the rows), events (what jobs does with accounts' events),
owners (the deletion events)."""
