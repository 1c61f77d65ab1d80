"""Pipeline stages: each advances artworks one step of the state machine, idempotently."""
