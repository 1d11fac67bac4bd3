"""Tests for the evcc_ha integration."""
