"""Tests with real processes: the stack (started through devstack), ffmpeg, and servers started
by the tests themselves."""
