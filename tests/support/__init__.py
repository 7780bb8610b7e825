"""Helpers that unit and integration tests share; test modules never import from one another."""
