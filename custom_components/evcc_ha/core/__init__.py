"""Charge-control core: evcc's site and loadpoint behaviour in pure Python.

Nothing in this package does I/O, reads the wall clock or imports Home Assistant: every cycle is a
function of the time, the device readings and the settings, so the same code drives Home Assistant,
the simulator and the benchmarks.
"""
