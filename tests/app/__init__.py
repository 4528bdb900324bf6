"""Tests of the GitHub App server (app/)."""
