"""Reports written from the store: one module per report (`bot report …`)."""
