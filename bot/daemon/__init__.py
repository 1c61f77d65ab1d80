"""The long-running bot: APScheduler jobs over the pipeline, one instance per data dir."""
