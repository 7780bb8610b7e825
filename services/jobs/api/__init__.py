"""The jobs service (`python -m services.jobs`; asyncio): server (wiring), servicer (protobuf <->
domain), reconciler (keeps RQ in step with the rows), owners (accounts' deletion events)."""
