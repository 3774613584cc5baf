"""L1 alerting: thresholds, `for` counts, hysteresis, cooldown, trend warnings, inhibition, silences."""
