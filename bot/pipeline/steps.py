"""The steps of one full cycle, in order (bot/pipeline/cycle.py), named for `bot run --skip`.
Kept apart so the CLI can list them without importing the pipeline."""

STEPS = ("scrape", "curate", "fetch", "stages", "sync")
