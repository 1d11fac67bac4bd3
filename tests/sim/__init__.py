"""Tests of the simulator: device models, scenario runner and command line."""
