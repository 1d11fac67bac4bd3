"""Tests of the device drivers that need no Home Assistant."""
