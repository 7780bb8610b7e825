"""The bare-RQ floor's job, in a module of its own: each work horse imports it, so it imports nothing."""


def noop() -> None:
    """Nothing, so what is measured is RQ and the worker alone."""
