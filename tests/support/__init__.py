"""Helpers the tests share: request builders, the CDS Hooks conformance check, the clock,
the pama-rating reader and the app factory fixtures use."""
