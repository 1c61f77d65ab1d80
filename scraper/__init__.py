"""Scraper: getting listings and their images into the store (marketplace APIs, pages, CSV)."""
