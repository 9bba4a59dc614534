"""Metric histories in, plain-language findings out: what is going wrong with a run and what to try.

API
- `diagnose(history, config=None) -> list[Finding]`, most severe first. `history` maps a metric name
  to a list of (step, value) in step order, as the store holds them: the trainer's `loss_d`, `loss_g`,
  `d_x` (D(x)), `d_g_z1` / `d_g_z2` (D(G(z)) before / after the G step), `grad_norm_d`, `grad_norm_g`,
  and any of `metrics.evaluate()`'s keys logged by an evaluation (`fid`, `kid`, `recall`, `coverage`,
  `classes_covered`, `modes`, `modes_total`, `hq_percent`, ...). `config` (a TrainConfig) makes the
  advice concrete (current learning rates, loss); without it the advice is generic.
- `history_from_rows(rows)`: `Store.metrics()` rows (step, name, value, time) -> history.
- `Finding(severity, title, evidence, advice, metric, steps)`; `severity` is info | warning | error;
  `evidence` names the metric, the steps and the values; `to_dict()` for JSON.
Cheap: pure Python/numpy over the series, well under a millisecond per thousand points.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
LOWER_IS_BETTER = ("fid", "kid", "frechet")
HIGHER_IS_BETTER = ("hq_percent", "recall", "coverage")
# changes smaller than this are sampling noise whatever their relative size (hq_percent of 500-1000
# samples moves by about a point between evaluations of the same generator)
NOISE_FLOOR = {"hq_percent": 1.0}


@dataclass(frozen=True)
class Finding:
    severity: str  # info | warning | error
    title: str
    evidence: str  # which metric, which steps, which values
    advice: str
    metric: str = ""
    steps: tuple[int, int] | None = None  # the span the evidence is about

    def to_dict(self) -> dict:
        return asdict(self)


def history_from_rows(rows) -> dict[str, list[tuple[int, float]]]:
    history: dict[str, list[tuple[int, float]]] = {}
    for step, name, value, *_ in rows:
        history.setdefault(name, []).append((int(step), float(value)))
    return history


class ExplosionWatch:
    """Fed each logged step's losses, it says when they have grown by orders of magnitude (the same
    test as the 'exploding' finding, on the losses only: gradient norms may grow that much in a healthy
    run). The trainer then stops the run, keeping its last checkpoint from before the blow-up."""

    CHECK_EVERY = 20  # logged rows between checks (a check reads the kept rows)
    KEEP = 4000  # rows per loss kept; beyond that every other one is dropped (medians barely move)

    def __init__(self):
        self.history: dict[str, list[tuple[int, float]]] = {"loss_d": [], "loss_g": []}
        self.rows = 0

    def add(self, step: int, values: dict[str, float]) -> Finding | None:
        for name, rows in self.history.items():
            if name in values:
                rows.append((step, float(values[name])))
                if len(rows) > self.KEEP:
                    self.history[name] = rows[::2]
        self.rows += 1
        if self.rows % self.CHECK_EVERY:
            return None
        found = _divergence(self.history, None)
        return found[0] if found else None


def diagnose(history: dict[str, list[tuple[int, float]]], config=None) -> list[Finding]:
    findings: list[Finding] = []
    for check in (_divergence, _discriminator_wins, _mode_collapse, _oscillation, _plateau):
        findings += check(history, config)
    return sorted(findings, key=lambda f: SEVERITY_ORDER[f.severity])


# --- helpers ---------------------------------------------------------------------------------


def _series(history, *names) -> tuple[str, np.ndarray, np.ndarray]:
    """The first of `names` that has values: (name, steps, values)."""
    for name in names:
        rows = history.get(name) or []
        if rows:
            steps, values = zip(*rows)
            return name, np.asarray(steps, dtype=np.int64), np.asarray(values, dtype=np.float64)
    return "", np.zeros(0, dtype=np.int64), np.zeros(0)


def _tail(n: int, fraction: float = 0.25, least: int = 3) -> int:
    """How many of n points form 'the end of the run'."""
    return min(n, max(least, round(n * fraction)))


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        return values
    return np.convolve(values, np.ones(window) / window, mode="valid")


def _setting(config, name: str, default=None):
    return getattr(config, name, default) if config is not None else default


# --- the checks ------------------------------------------------------------------------------


def _divergence(history, config) -> list[Finding]:
    """NaN/Inf anywhere, or a loss or gradient norm that grew by orders of magnitude."""
    advice = (
        "Lower the learning rates (lr_d and lr_g, e.g. halve them), use fewer D steps, or a variant with a "
        "bounded critic (hinge with spectral norm, or wgan-gp's gradient penalty); resume from a checkpoint "
        "before the blow-up."
    )
    found = []
    for name in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g", "d_x", "d_g_z1", "d_g_z2"):
        _, steps, values = _series(history, name)
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.argmax(bad))
            return [
                Finding(
                    "error",
                    "Training diverged",
                    f"{name} became {values[first]} at step {steps[first]} (last finite value {values[first - 1]:.4g})"
                    if first
                    else f"{name} is {values[first]} from step {steps[first]}",
                    advice,
                    name,
                    (int(steps[first]), int(steps[-1])),
                )
            ]
    for name in ("loss_d", "loss_g", "grad_norm_d", "grad_norm_g"):
        _, steps, values = _series(history, name)
        if len(values) < 10:
            continue
        k = _tail(len(values), 0.2)
        early, late = np.median(np.abs(values[:k])), np.median(np.abs(values[-k:]))
        if late >= 50 and late >= 20 * max(early, 1e-3):
            found.append(
                Finding(
                    "error",
                    f"{name} is exploding",
                    f"median |{name}| grew from {early:.3g} (steps {steps[0]}-{steps[k - 1]}) to "
                    f"{late:.3g} (steps {steps[-k]}-{steps[-1]})",
                    advice,
                    name,
                    (int(steps[0]), int(steps[-1])),
                )
            )
    return found[:1] + [f for f in found[1:] if f.metric.startswith("grad")][:1]


def _discriminator_wins(history, config) -> list[Finding]:
    """D(G(z)) near 0 while D(x) near 1 at the end of the run: G gets no useful signal."""
    if _setting(config, "loss") == "wasserstein":
        return []  # critic outputs are not probabilities; sigmoid(D) says nothing here
    name, steps, fake = _series(history, "d_g_z1", "d_g_z2")
    if len(fake) < 5:
        return []
    k = _tail(len(fake))
    fake_late = float(np.median(fake[-k:]))
    _, _, real = _series(history, "d_x")
    real_late = float(np.median(real[-_tail(len(real)) :])) if len(real) else math.nan
    if fake_late >= 0.05 or (len(real) and real_late <= 0.8):
        return []
    evidence = f"D(G(z)) ({name}) has a median of {fake_late:.3g} over steps {steps[-k]}-{steps[-1]}"
    if len(real):
        evidence += f" while D(x) is {real_late:.3g}"
    _, _, grad_g = _series(history, "grad_norm_g")
    vanished = False
    if len(grad_g) >= 5:
        kg = _tail(len(grad_g))
        early, late = float(np.median(grad_g[:kg])), float(np.median(grad_g[-kg:]))
        vanished = late < 0.1 * early
        evidence += f"; G's gradient norm went from {early:.3g} to {late:.3g}" + (" (vanishing)" if vanished else "")
    tips = []
    if _setting(config, "g_loss") == "minimax" or config is None:
        tips.append(
            "use the non-saturating generator loss (--set g_loss=non-saturating): the minimax loss "
            "log(1 - D(G(z))) has almost no gradient when D rejects every sample"
        )
    lr_d, lr_g = _setting(config, "lr_d"), _setting(config, "lr_g")
    tips.append(
        f"lower D's learning rate (lr_d is {lr_d:g}, lr_g is {lr_g:g}; try lr_d = lr_g)"
        if lr_d and lr_g
        else "lower D's learning rate (lr_d) to G's"
    )
    d_steps = _setting(config, "d_steps", 1)
    if d_steps and d_steps > 1:
        tips.append(f"take fewer D steps per G step (d_steps is {d_steps}; try 1)")
    tips.append("or weaken D: a smaller width, spectral norm or an R1 penalty (r1_weight)")
    return [
        Finding(
            "error" if vanished else "warning",
            "The discriminator wins outright",
            evidence,
            "; ".join(tips).capitalize() + ".",
            name,
            (int(steps[-k]), int(steps[-1])),
        )
    ]


def _mode_collapse(history, config) -> list[Finding]:
    found = []
    advice = (
        "The generator covers only part of the data. Try a larger batch, packing (pack=2..4, toy runs), a "
        "lower lr_g, the hinge or wgan-gp variants, EMA (ema_decay=0.999), or resume from the checkpoint "
        "where coverage was best."
    )
    for name, total_name, total_default in (("classes_covered", None, 10), ("modes", "modes_total", None)):
        _, steps, values = _series(history, name)
        if not len(values):
            continue
        _, _, totals = _series(history, total_name) if total_name else ("", None, np.zeros(0))
        total = float(totals[-1]) if len(totals) else total_default
        best_at = int(np.argmax(values))
        best, last = float(values[best_at]), float(values[-1])
        drop_needed = max(1.0, round(0.1 * best)) if name == "modes" else 2.0
        what = "classes" if name == "classes_covered" else "modes"
        had_coverage = name == "classes_covered" or not total or best >= 0.5 * total  # 1 -> 0 early is noise
        if best - last >= drop_needed and had_coverage:
            found.append(
                Finding(
                    "warning",
                    f"Mode collapse: {what} lost",
                    f"{name} fell from {best:g} at step {steps[best_at]} to {last:g} at step {steps[-1]}",
                    advice,
                    name,
                    (int(steps[best_at]), int(steps[-1])),
                )
            )
        elif total and 1 <= last <= max(2.0, 0.25 * total) and _on_data(history):
            found.append(
                Finding(
                    "error",
                    f"Mode collapse: only {last:g} of {total:g} {what}",
                    f"{name} is {last:g} of {total:g} at step {steps[-1]}",
                    advice,
                    name,
                    (int(steps[-1]), int(steps[-1])),
                )
            )
    for name in ("recall", "coverage"):
        _, steps, values = _series(history, name)
        if len(values) >= 2 and not found:
            best_at = int(np.argmax(values))
            if values[best_at] >= 0.2 and values[-1] < 0.5 * values[best_at]:
                found.append(
                    Finding(
                        "warning",
                        "Sample diversity dropped",
                        f"{name} fell from {values[best_at]:.3f} at step {steps[best_at]} to "
                        f"{values[-1]:.3f} at step {steps[-1]}",
                        advice,
                        name,
                        (int(steps[best_at]), int(steps[-1])),
                    )
                )
    return found


def _on_data(history) -> bool:
    """Whether enough samples are good enough for coverage to mean collapse (0.5% on a toy mixture
    is a generator still far from the data, not one that found a few modes)."""
    _, _, hq = _series(history, "hq_percent")
    return not len(hq) or hq[-1] >= 10


def _swings(values: np.ndarray, low: float, high: float) -> int:
    """How many times the series crosses from below `low` to above `high` or back."""
    state, count = 0, 0
    for v in values:
        now = -1 if v < low else (1 if v > high else 0)
        if now and now != state:
            count += state != 0
            state = now
    return count


def _quality(history) -> tuple[str, np.ndarray, np.ndarray, int]:
    """The quality metric to judge progress by: (name, steps, values, +1 higher-better / -1 lower-better).
    A 2D mixture with known modes is judged by its share of high-quality samples (VEEGAN's protocol):
    its Fréchet distance in the plane sits near 0 once the modes are found, and a relative change of
    a number that small (0.004 -> 0.01) is noise, not a generator getting worse."""
    name, steps, values = _series(history, "hq_percent")
    if len(values):
        return name, steps, values, 1
    name, steps, values = _series(history, *LOWER_IS_BETTER)
    if len(values):
        return name, steps, values, -1
    name, steps, values = _series(history, *HIGHER_IS_BETTER)
    return name, steps, values, 1


def _oscillation(history, config) -> list[Finding]:
    """D and G taking turns to win (D(G(z)) or loss_g swinging) without the samples getting better."""
    name, steps, fake = _series(history, "d_g_z1", "d_g_z2")
    evidence = ""
    if len(fake) >= 12 and _setting(config, "loss") != "wasserstein":
        half = len(fake) // 2
        smooth = _smooth(fake[half:], 3)
        swings = _swings(smooth, 0.2, 0.6)
        if swings >= 3:
            evidence = (
                f"D(G(z)) ({name}) swung {swings} times between below 0.2 and above 0.6 over steps "
                f"{steps[half]}-{steps[-1]}"
            )
    loss_name, loss_steps, loss_g = _series(history, "loss_g")
    if not evidence and len(loss_g) >= 20 and np.isfinite(loss_g).all():
        half = len(loss_g) // 2
        smooth = _smooth(loss_g[half:], 5)
        centre = float(np.median(smooth))
        swings = _swings(smooth, centre - 0.5, centre + 0.5)
        if swings >= 3:
            evidence = (
                f"loss_g (smoothed over 5 points) swung {swings} times by more than ±0.5 around "
                f"{centre:.3g} over steps {loss_steps[half]}-{loss_steps[-1]}"
            )
            name, steps = loss_name, loss_steps
    if not evidence:
        return []
    q_name, q_steps, q_values, sign = _quality(history)
    half_step = steps[len(steps) // 2]
    severity = "info"
    if len(q_values) >= 3:
        before, after = q_values[q_steps < half_step], q_values[q_steps >= half_step]
        if len(before) and len(after):
            best_before = before.max() if sign > 0 else before.min()
            gain = after.max() - best_before if sign > 0 else best_before - after.min()
            if gain > max(0.05 * abs(best_before), NOISE_FLOOR.get(q_name, 0.0)):
                return []  # swinging, but the samples still get better: ordinary GAN dynamics
            evidence += (
                f"; {q_name} did not improve meanwhile (best {q_values.min() if sign < 0 else q_values.max():.4g})"
            )
            severity = "warning"
    else:
        evidence += "; no quality metric was logged to tell whether samples still improve"
    return [
        Finding(
            severity,
            "Oscillation without progress",
            evidence,
            "D and G keep overpowering each other in turn. Lower both learning rates (e.g. halve lr_d and "
            "lr_g), lower Adam's beta1 (0 to 0.5), add a gradient penalty (r1_weight or gp_weight), or keep "
            "an EMA of G (ema_decay=0.999) for smoother samples.",
            name,
            (int(steps[len(steps) // 2]), int(steps[-1])),
        )
    ]


def _plateau(history, config) -> list[Finding]:
    """The quality metric has not improved over the last third of its evaluations."""
    name, steps, values, sign = _quality(history)
    values_ok = np.isfinite(values)
    steps, values = steps[values_ok], values[values_ok]
    if len(values) < 5:
        return []
    if name == "hq_percent":
        _, _, modes = _series(history, "modes")
        _, _, totals = _series(history, "modes_total")
        if len(modes) and len(totals) and modes[-1] == totals[-1] and values[-1] >= 90:
            return []  # at the top already: flat is fine
    k = max(3, len(values) // 3)
    before, late = values[:-k], values[-k:]
    best_before = before.min() if sign < 0 else before.max()
    best_late = late.min() if sign < 0 else late.max()
    gain = (best_before - best_late) if sign < 0 else (best_late - best_before)
    if gain > max(0.02 * abs(best_before), NOISE_FLOOR.get(name, 1e-9)):
        return []
    worse = -gain > max(0.10 * abs(best_before), NOISE_FLOOR.get(name, 1e-9))
    ema = _setting(config, "ema_decay")
    advice = (
        "More steps at these settings are unlikely to help: keep the best checkpoint"
        + ", lower both learning rates (e.g. x0.5)"
        + ("" if ema else ", keep an EMA of G (ema_decay=0.999)")
        + ", or give the nets more capacity (width)."
    )
    return [
        Finding(
            "warning" if worse else "info",
            "The generator got worse" if worse else "The generator stopped improving",
            f"{name}: best {best_before:.4g} by step {steps[-k - 1]}; best since, over {k} evaluations "
            f"to step {steps[-1]}: {best_late:.4g}",
            advice,
            name,
            (int(steps[-k]), int(steps[-1])),
        )
    ]
