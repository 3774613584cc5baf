"""Benchmarks behind `twin bench`: each part measures one stage and prints its figures."""
