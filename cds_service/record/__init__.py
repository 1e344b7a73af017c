"""The patient record of one hook call: draft orders, prefetch, the FHIR server (client and
fetch policy), the FHIR JSON readers, and the facts the rules read."""
