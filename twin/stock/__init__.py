"""Stock on hand, demand and inbound freight per warehouse x SKU: forecasts and projections."""
