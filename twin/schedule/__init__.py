"""The daemon's adapters: APScheduler wiring, one-leader locking, metrics and health."""
