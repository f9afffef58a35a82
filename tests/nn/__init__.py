"""Tests of molgen.nn."""
