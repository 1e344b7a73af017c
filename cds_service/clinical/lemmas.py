"""Words by lemma: spaCy's English lookup table (package ``spacy-lookups-data``).

"walking", "walks" and "walked" are "walk"; "feet" is "foot"; "struck" is "strike". The table
is the one spaCy's lookup lemmatizer reads (installed with the package, never downloaded at
run time). spaCy's own lemmatizer looks a token up as written, so "Gait" at the start of a
sentence would not be found; the component here looks up the lower-case form instead, and a
word the table does not hold is its own lemma.

The text reader's cheap first test (a regular expression) must see every text the NLP could
match: :func:`surface_forms` gives, for a lemma, every written form the table maps to it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

COMPONENT = "cds_lookup_lemmas"


@cache
def lookup_table() -> dict[str, str]:
    """Written form to lemma (about 40,000 English forms; a few MB)."""
    import spacy_lookups_data  # type: ignore[import-untyped]
    from spacy.util import load_language_data

    table = load_language_data(spacy_lookups_data.en["lemma_lookup"])
    if not isinstance(table, dict):  # pragma: no cover - the package's table is a mapping
        raise TypeError("spacy-lookups-data: the English lemma table is not a mapping")
    return {str(form).lower(): str(lemma).lower() for form, lemma in table.items()}


def lemma(word: str) -> str:
    """The lemma of one word (lower case); a word the table does not hold is its own."""
    lower = word.lower()
    return lookup_table().get(lower, lower)


def surface_forms(lemmas: Iterable[str]) -> dict[str, frozenset[str]]:
    """Each lemma to every form the table maps to it, the lemma itself included."""
    index = _forms_by_lemma()
    return {w: index.get(w, frozenset()) | {w} for w in {w.lower() for w in lemmas}}


@cache
def _forms_by_lemma() -> dict[str, frozenset[str]]:
    forms: dict[str, set[str]] = {}
    for form, base in lookup_table().items():
        forms.setdefault(base, set()).add(form)
    return {base: frozenset(found) for base, found in forms.items()}


def add_lemmatizer(nlp: Any) -> None:
    """Put the lower-case lookup lemmatizer in a pipeline, before the target matcher."""
    from spacy.language import Language

    if COMPONENT not in Language.factories:
        Language.component(COMPONENT, func=_set_lemmas)
    nlp.add_pipe(COMPONENT, before="medspacy_target_matcher")


def _set_lemmas(doc: Any) -> Any:
    table = lookup_table()
    for token in doc:
        lower = token.lower_
        token.lemma_ = table.get(lower, lower)
    return doc
