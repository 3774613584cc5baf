"""L1: the network twin — schema checks, the NetworkX graph and what-if views."""
