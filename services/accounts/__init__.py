"""accounts: users, sessions, brands, ad projects, chat messages, scripts, and the outbox of events."""
