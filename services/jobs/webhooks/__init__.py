"""Webhooks to users' own endpoints: generation.completed, generation.failed, generation.cancelled
and lora.completed, signed the Standard Webhooks way.

- endpoints (service): registering and managing endpoints; addresses: which URLs are allowed
  (both); secrets_box: endpoint secrets, encrypted at rest (both);
- fanout (service): jobs' events from the stream -> one delivery row per subscribed endpoint;
- dispatch (service): due deliveries -> an RQ job per attempt;
- deliver, sending (worker): one attempt: sign, POST to a checked address, record; backoff: when
  the next one is.
"""
