"""Appraisals to advice: cards, suggestions and the pama-rating systemActions."""
