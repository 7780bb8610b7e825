"""Generation providers behind one interface (base.Provider): `local` renders on this machine with
FFmpeg; `replicate` drives Replicate's HTTP API. Chosen by configuration (GENERATION_PROVIDER)."""
