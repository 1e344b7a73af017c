"""The patient record of one hook call, made in three stages (one type between each):

1. augmenting the prefetch, per CDS Hooks 2.0 (``prefetch.py``, with ``fhir_client.py`` and
   ``fetch_policy.py`` for the FHIR server): null, missing, unusable, paged -> fetch or 412;
2. selecting (``selection.py``): one pass over each value, on the raw JSON (``raw_json.py``),
   checking its container and keeping what a rule can read (``relevance.py``,
   ``observation_filter.py``, ``prior_studies.py``): a ``Scanned`` per value;
3. reading (``record_reader.py``): what was kept, validated and read into facts (``readers.py``,
   ``observation_reading.py``, ``facts.py``).

The draft orders are read apart (``drafts.py``).
"""
