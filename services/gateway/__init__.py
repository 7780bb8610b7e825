"""gateway: the REST/JSON edge in front of accounts, media and jobs (stateless)."""
