"""Replicate's webhooks: a prediction or training created with `webhook` is POSTed back to the
gateway when it completes, and the step waiting for it advances at once instead of at its next poll.

verify.py checks a delivery as Replicate signs it (Standard Webhooks); mailbox.py is the Redis
hand-over between the jobs service, which receives deliveries, and the work horse that waits;
receive.py is the use case behind the ReceiveReplicateWebhook RPC. Only mailbox.py runs in workers.
"""
