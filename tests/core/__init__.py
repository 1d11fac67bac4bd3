"""Tests of the pure-Python charge-control core (no Home Assistant)."""
