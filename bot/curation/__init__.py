"""Curation: exploratory analysis of listings, per-year price trimming, value ranking."""
