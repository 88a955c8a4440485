"""Minyi: survey and mobile feedback service for public-sector assessment."""
