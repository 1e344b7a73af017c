"""The rules that read measurements: a fever (a body temperature over a threshold) and a
weight loss (a share of body weight lost within a window). Each answers with the readings
that meet it (appraisal/evidence.py), or None."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from cds_service.appraisal.evidence import (
    TemperatureFlagged,
    TemperatureReading,
    Weighed,
    WeightLoss,
)
from cds_service.clinical.knowledge_schema import FeverRule, WeightLossRule
from cds_service.clinical.units import read_temperature, to_kilograms
from cds_service.record.facts import ObservationFact
from cds_service.record.fhir_time import span_text
from cds_service.record.observation_reading import reads

IGNORED_OBSERVATION_STATUS = frozenset({"cancelled", "entered-in-error"})


def observation_evidence(
    rule: FeverRule | WeightLossRule, observations: Iterable[ObservationFact], now: datetime
) -> TemperatureReading | TemperatureFlagged | WeightLoss | None:
    """The Observation(s) that meet the rule, or None when none do. A reading whose time is
    absent or cannot be read may be inside the window: it counts (failing safe)."""
    relevant = [
        o
        for o in observations
        if o.status not in IGNORED_OBSERVATION_STATUS
        and (o.value is not None or o.flagged_high)
        and (o.effective is None or o.effective <= now + timedelta(days=1))
        and reads(rule, o.codes, o.unit)
    ]
    if isinstance(rule, FeverRule):
        return fever_evidence(rule, relevant, now)
    return weight_loss_evidence(rule, relevant, now)


def fever_evidence(
    rule: FeverRule, observations: list[ObservationFact], now: datetime
) -> TemperatureReading | TemperatureFlagged | None:
    """The latest body temperature within the look-back at or over the threshold (an undated
    one first: it may be the latest; one dated only by its month or year, by its span's end)."""
    since = now - timedelta(days=rule.lookback_days)
    limit = min(t.minimum if t.unit == "Cel" else (t.minimum - 32) * 5 / 9 for t in rule.thresholds)
    for obs in sorted(observations, key=lambda o: o.latest or now, reverse=True):
        if obs.latest is not None and obs.latest < since:
            continue  # a partial date ("2026-11") counts when any of its span is in the window
        when = span_text(obs.effective, obs.effective_until)
        if obs.value is None:  # flagged high, no value: a fever, failing safe
            return TemperatureFlagged(rule.label, when)
        reading = read_temperature(obs.value, obs.unit)
        if reading is not None and reading.celsius >= limit - 1e-9:
            return TemperatureReading(rule.label, obs.value, obs.unit, reading, when)
    return None


def weight_loss_evidence(
    rule: WeightLossRule, observations: list[ObservationFact], now: datetime
) -> WeightLoss | None:
    """A loss over the rule's share within its window; weights without a unit are read in
    each unit they could be (kilograms, then pounds). A weight without a date may have been
    taken at any time in the window, one dated only by its month or year at any time in that
    span and the window: the loss counts when any placement of them gives one (failing safe),
    after the weights dated to one point alone are read."""
    since = now - timedelta(days=rule.window_days)
    readings = [
        o for o in observations if (o.latest is None or o.latest >= since) and o.value is not None
    ]  # (a weight flagged high without a value says nothing of a loss)
    unitless = any(not (o.unit or "").strip() for o in readings)
    units = ("kg", "[lb_av]") if unitless else ("kg",)  # each way a unitless one could be
    series = [weighed_series(readings, unitless_as) for unitless_as in units]
    for dated, _ in series:
        found = weight_loss(rule, dated)
        if found is not None:
            return found
    for dated, placed in series:
        found = placed_weight_loss(rule, dated, placed)
        if found is not None:
            return found
    return None


def weighed_series(
    readings: list[ObservationFact], unitless_as: str
) -> tuple[list[Weighed], list[Weighed]]:
    """The weights dated to one point, in time order (at one time, the heavier last), and the
    others (undated, or dated only by a month or year); one whose unit is no mass unit is in
    neither."""
    weighed = [w for o in readings if (w := weigh(o, unitless_as)) is not None]
    dated = sorted((w for w in weighed if w.at is not None and w.until is None), key=time_order)
    return dated, [w for w in weighed if w.at is None or w.until is not None]


def time_order(weighed: Weighed) -> tuple[datetime, float]:
    assert weighed.at is not None
    return weighed.at, weighed.kg


def weigh(obs: ObservationFact, unitless_as: str) -> Weighed | None:
    """The reading in kilograms (a reading without a unit in ``unitless_as``), or None when
    its unit is no mass unit."""
    assert obs.value is not None
    until = obs.effective_until
    if (obs.unit or "").strip():
        kg = to_kilograms(obs.value, obs.unit)
        return None if kg is None else Weighed(obs.effective, kg, obs.value, None, until)
    kg = to_kilograms(obs.value, unitless_as)
    assert kg is not None
    return Weighed(obs.effective, kg, obs.value, unitless_as, until)


def weight_loss(rule: WeightLossRule, series: list[Weighed]) -> WeightLoss | None:
    """From the heaviest earlier weight to the latest, a loss of at least the rule's share."""
    if len(series) < 2:
        return None
    return loss_to(rule, series[:-1], series[-1])


def placed_weight_loss(
    rule: WeightLossRule, dated: list[Weighed], placed: list[Weighed]
) -> WeightLoss | None:
    """The largest loss a placement of the ``placed`` weights (undated: anywhere in the window;
    dated by a month or year: anywhere in that span) gives: each weight that may be the latest
    (every other may be placed no later), against the heaviest other weight."""
    if not placed:
        return None
    weights = [*dated, *placed]
    losses = []
    for latest in [*placed, *dated]:
        earlier = [w for w in weights if w is not latest]
        if all(may_precede(w, latest) for w in earlier):
            found = loss_to(rule, earlier, latest)
            if found is not None:
                losses.append(found)
    return max(losses, key=lambda found: found.loss, default=None)


def may_precede(earlier: Weighed, latest: Weighed) -> bool:
    """May ``earlier`` be placed no later than ``latest``? An undated weight may be anywhere;
    a span's first instant must be no later than the other's last; two weights dated to one
    point keep their time order."""
    if earlier.at is None or latest.at is None:
        return True
    if earlier.until is None and latest.until is None:
        return time_order(earlier) <= time_order(latest)
    return earlier.at <= (latest.until or latest.at)


def loss_to(rule: WeightLossRule, earlier: list[Weighed], latest: Weighed) -> WeightLoss | None:
    """From the heaviest of ``earlier`` (the first of equals) to ``latest``, a loss of at
    least the rule's share."""
    if not earlier:
        return None
    heaviest = max(earlier, key=lambda weighed: weighed.kg)
    if heaviest.kg <= 0:
        return None
    loss = (heaviest.kg - latest.kg) / heaviest.kg * 100
    if loss + 1e-9 < rule.minimum_loss_percent:
        return None
    return WeightLoss(rule.label, loss, heaviest, latest)
