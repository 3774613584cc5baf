"""L1 scoring: risk monitors as pure functions of signals and `now`, propagation and exposure."""
