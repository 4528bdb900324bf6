"""Shared fixtures: the offline test bench (GitHub emulator, scripted model servers)."""

pytest_plugins = ["tests.emulator.fixtures", "tests.scripted_model.fixtures"]
