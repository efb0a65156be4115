"""Fake upstream servers speaking providers' wire formats over real HTTP on loopback."""
