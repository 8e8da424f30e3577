"""Tests of the container image and the compose deployment (run by .ci/container)."""
