"""Generations: plan (what a generation will do; pure, both processes), start, queries and cancel
(StartGeneration, GetGeneration/ListGenerations, CancelGeneration; the jobs service), steps and
rendering (the step job types; a work horse), outcome (settling a generation from its steps; the
workers after each step and the reconciler), events (what a generation tells accounts, through
jobs' outbox; both processes)."""
