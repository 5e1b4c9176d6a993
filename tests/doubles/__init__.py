"""Test doubles of the engines' kernel modules, each named after the module it stands in for."""
