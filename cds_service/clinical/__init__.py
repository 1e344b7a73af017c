"""What the service knows: the knowledge file (schema and compiled rules), code matching,
ConText assertions over free text, ICD-10-CM, units, and the review sheet."""
