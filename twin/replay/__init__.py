"""Replays: scenarios (historical disruptions, what-ifs) run on the engine with a simulated clock."""
