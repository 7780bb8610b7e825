"""Tests that need no server and start no process: pure logic, run in seconds (make test-unit)."""
