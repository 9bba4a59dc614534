"""Honest quality metrics for a run's samples, computed offline (nothing is ever downloaded).

Images are compared with real held-out images in the feature space of the dataset's bundled
classifier (`gandash.features`); 2D points are compared with the dataset's own points.

API (all pure functions on tensors unless said otherwise)
- `evaluate(source, config, n=2000, seed=0, inception=False) -> dict[str, float]`: the one entry point.
  `source` is a generator (nn.Module, sampled with `sampling.sample`), the dict `sampling.sample`
  returns, float NCHW images in [-1, 1], or (N, 2) points. It picks the metrics for the run's
  dataset (see KEYS); a dataset with no feature space raises GandashError saying so.
  Measured cost (bench/eval_cost.py, DCGAN 28x28, n=2000, on this project's 2-core CPU while other
  jobs held it at load ~6, so an upper bound): 8.4 s per call, plus 14 s once per process for the
  10 000 reference images' features (cached in the process and under GANDASH_HOME/cache); a toy ring run: 0.04 s
  once torchmetrics is imported (import_backend: 1-2 s once per process). Real vs real (the two halves
  of the Fashion-MNIST test split) scores FID 0.32, KID x1000 0.15, precision/recall 0.88/0.88.
  `inception=True` adds standard FID when torch-fidelity and its Inception weights are already on
  disk (minutes on a CPU; never downloads).
- `frechet_distance(real, fake) -> float` and `kid(real, fake) -> (mean, std)`: torchmetrics' FID and
  KID (polynomial MMD) on precomputed features (N, D).
- `prdc(real, fake, k_pr=3, k_dc=5) -> {precision, recall, density, coverage}`: Kynkäänniemi et al.
  2019 (k=3) and Naeem et al. 2020 (k=5) from k-NN balls in feature space.
- `class_histogram(logits, num_classes) -> {classes_covered, class_kl, class_min_share, class_max_share}`
  and `label_accuracy(logits, labels) -> float` for conditional generators.
- `mode_coverage(points, modes, sigma) -> {modes, of, hq_percent, per_mode}`: the VEEGAN protocol.
- `standard_fid(real_images, fake_images) -> float | None`: None when the weights are not here.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import io
from pathlib import Path

import numpy as np
import torch
from torch import nn

from gandash import data
from gandash.core import paths
from gandash.core.errors import GandashError
from gandash.quality import features, samples

# What each key of evaluate()'s result means (the CLI prints these; pages may show them).
KEYS = {
    "fid": "Fréchet distance to real test images in the classifier's feature space (lower is better)",
    "kid": "kernel distance (KID, x1000) in the same space; unbiased, so fair at small n (lower is better)",
    "precision": "share of samples that look like some real example (k=3 balls; quality)",
    "recall": "share of real examples some sample resembles (k=3 balls; diversity)",
    "density": "how densely samples sit among real examples (k=5; ~1 for real data)",
    "coverage": "share of real examples with a sample inside their k=5 ball (diversity)",
    "classes_covered": "classes with at least a tenth of their fair share of samples",
    "class_kl": "KL divergence of the sample class histogram from uniform (0 is perfectly balanced)",
    "class_min_share": "share of samples in the rarest class",
    "class_max_share": "share of samples in the commonest class",
    "label_accuracy": "share of samples the classifier puts in the class they were asked for",
    "fid_inception": "standard FID with Inception-v3 (only when its weights are on disk)",
    "modes": "modes with at least one high-quality sample (VEEGAN protocol)",
    "modes_total": "modes of the true mixture",
    "hq_percent": "percent of samples within 3 sigma of their nearest mode",
    "frechet": "Fréchet distance between sample and real points in the plane (lower is better)",
}
INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's cache file name


class _Given(nn.Module):
    """Lets torchmetrics' FID/KID take features we already computed (one classifier pass for all metrics)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def import_backend() -> None:
    """Import torchmetrics now: it takes 1-2 s once per process, which would otherwise land on the
    first evaluation of a run and blow its share of the training time (a toy evaluation is 0.04 s)."""
    import torchmetrics.image.fid  # noqa: F401
    import torchmetrics.image.kid  # noqa: F401


def frechet_distance(real: torch.Tensor, fake: torch.Tensor) -> float:
    """FID between two feature sets (N, D), via torchmetrics (float64 statistics)."""
    from torchmetrics.image.fid import FrechetInceptionDistance  # here: torchmetrics takes ~2 s to import

    metric = FrechetInceptionDistance(feature=_Given(real.shape[1]))
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return max(float(metric.compute()), 0.0)  # round-off makes identical sets ~ -1e-9


def kid(
    real: torch.Tensor, fake: torch.Tensor, subset_size: int = 1000, subsets: int = 10, seed: int = 0
) -> tuple[float, float]:
    """KID (mean, std over random subsets) between feature sets, with torchmetrics' unbiased polynomial
    MMD. Its Metric class draws subsets from the global RNG and keeps every feature in a buffer, so
    the subsets are drawn here, seeded, and 10 of them (not 100) keep it near a second on a CPU."""
    from torchmetrics.image.kid import poly_mmd

    size = min(subset_size, len(real), len(fake))
    generator = torch.Generator().manual_seed(seed)
    scores = torch.stack(
        [
            poly_mmd(
                real[torch.randperm(len(real), generator=generator)[:size]].float(),
                fake[torch.randperm(len(fake), generator=generator)[:size]].float(),
            )
            for _ in range(subsets)
        ]
    )
    return float(scores.mean()), float(scores.std(unbiased=False))


def _cdist(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # The matmul shortcut loses precision on low-dimensional points (toy sigma is 0.02).
    mode = "donot_use_mm_for_euclid_dist" if a.shape[1] <= 8 else "use_mm_for_euclid_dist_if_necessary"
    return torch.cdist(a, b, compute_mode=mode)


def _knn_radii(x: torch.Tensor, k: int, chunk: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row."""
    return torch.cat(
        [_cdist(x[i : i + chunk], x).topk(k + 1, largest=False).values[:, k] for i in range(0, len(x), chunk)]
    )


@torch.no_grad()
def prdc(real: torch.Tensor, fake: torch.Tensor, k_pr: int = 3, k_dc: int = 5, chunk: int = 1000) -> dict:
    """Precision and recall (Kynkäänniemi et al. 2019) and density and coverage (Naeem et al. 2020)."""
    real, fake = real.float(), fake.float()
    if min(len(real), len(fake)) <= max(k_pr, k_dc):
        raise GandashError(f"precision/recall need more than {max(k_pr, k_dc)} samples (got {len(fake)}).")
    real_pr, real_dc = _knn_radii(real, k_pr, chunk), _knn_radii(real, k_dc, chunk)
    fake_pr = _knn_radii(fake, k_pr, chunk)
    in_real_ball, density_hits = [], 0.0
    for i in range(0, len(fake), chunk):
        d = _cdist(fake[i : i + chunk], real)  # (chunk, N)
        in_real_ball.append((d <= real_pr).any(1))
        density_hits += (d <= real_dc).sum().item()
    recall_hits, covered = [], []
    for i in range(0, len(real), chunk):
        d = _cdist(real[i : i + chunk], fake)  # (chunk, M)
        recall_hits.append((d <= fake_pr).any(1))
        covered.append(d.min(1).values <= real_dc[i : i + chunk])
    return {
        "precision": torch.cat(in_real_ball).float().mean().item(),
        "recall": torch.cat(recall_hits).float().mean().item(),
        "density": density_hits / (k_dc * len(fake)),
        "coverage": torch.cat(covered).float().mean().item(),
    }


def class_histogram(logits: torch.Tensor, num_classes: int) -> dict:
    """How the classifier sorts the samples: classes covered (>= 1/10 of a fair share), KL to uniform."""
    counts = torch.bincount(logits.argmax(1), minlength=num_classes).double()
    share = counts / counts.sum()
    nonzero = share[share > 0]
    return {
        "classes_covered": float((counts >= max(1.0, 0.1 * len(logits) / num_classes)).sum()),
        "class_kl": float((nonzero * (nonzero * num_classes).log()).sum()),
        "class_min_share": float(share.min()),
        "class_max_share": float(share.max()),
    }


def label_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(1) == labels.to(logits.device)).float().mean().item()


def mode_coverage(points: np.ndarray, modes: np.ndarray, sigma: float) -> dict:
    """VEEGAN protocol (Srivastava et al. 2017): a sample is high quality within 3 sigma of its nearest
    mode; a mode is covered when at least one high-quality sample is nearest to it. Non-finite
    points count as low quality."""
    points, modes = np.asarray(points, dtype=np.float64), np.asarray(modes, dtype=np.float64)
    finite = points[np.isfinite(points).all(1)] if len(points) else points.reshape(0, 2)
    dist = np.linalg.norm(finite[:, None, :] - modes[None, :, :], axis=2)  # (N, M)
    nearest, near_dist = dist.argmin(1), dist.min(1)
    good = near_dist <= 3 * sigma
    counts = np.bincount(nearest[good], minlength=len(modes))
    return {
        "modes": int((counts > 0).sum()),
        "of": len(modes),
        "hq_percent": 100.0 * good.sum() / max(len(points), 1),
        "per_mode": counts.tolist(),
    }


def inception_available() -> bool:
    """torch-fidelity installed and its Inception weights already in torch's hub cache."""
    if importlib.util.find_spec("torch_fidelity") is None:
        return False
    return (Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS).is_file()


@torch.no_grad()
def standard_fid(real_images: torch.Tensor, fake_images: torch.Tensor, batch: int = 200) -> float | None:
    """Standard FID (Inception-v3 pool3) of float NCHW images in [-1, 1]; None unless the weights are
    already on disk, so this never downloads."""
    if not inception_available():
        return None
    from torchmetrics.image.fid import FrechetInceptionDistance  # here: torchmetrics takes ~2 s to import

    metric = FrechetInceptionDistance(feature=2048, normalize=True)
    for images, real in ((real_images, True), (fake_images, False)):
        for i in range(0, len(images), batch):
            x = images[i : i + batch].float().add(1).div(2).clamp(0, 1)
            metric.update(x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x, real=real)
    return max(float(metric.compute()), 0.0)  # round-off makes identical sets ~ -1e-20


# --- evaluate: pick the metrics for the run's dataset -----------------------------------------


def _as_samples(source, config, n: int, seed: int) -> dict:
    """Anything evaluate() accepts -> {'images': float NCHW [-1, 1], 'labels'?} or {'points': (N, 2)}."""
    if isinstance(source, nn.Module):
        source = samples.sample(source, config, n, seed=seed)
    if isinstance(source, dict):
        if "points" in source:
            return {"points": torch.as_tensor(np.asarray(source["points"]), dtype=torch.float32)}
        array = torch.as_tensor(np.asarray(source["images"]))
        if array.dtype == torch.uint8:  # sampling's edge format: NHW or NHWC
            array = array[:, None] if array.dim() == 3 else array.permute(0, 3, 1, 2)
            array = features.to_float(array)
        labels = source.get("labels")
        return {"images": array.float(), "labels": None if labels is None else torch.as_tensor(np.asarray(labels))}
    tensor = torch.as_tensor(source).float()
    return {"points": tensor} if tensor.dim() == 2 else {"images": tensor, "labels": None}


@functools.lru_cache(maxsize=4)
def _reference(dataset: str, size: int, channels: int, data_dir: str | None):
    """Features and logits of the real test images, seen at the run's size and channels (so a 16x16
    run is not charged for resolution it was never asked to produce). Cached per process and on disk
    under GANDASH_HOME/cache (10 000 images through the classifier take seconds on a CPU, and every
    training run's first evaluation would pay them again)."""
    cache = reference_cache_file(dataset, size, channels, data_dir)
    try:
        saved = torch.load(cache, map_location="cpu", weights_only=True)
        return saved["features"], saved["logits"]
    except Exception:  # absent, or damaged (it is only a cache): compute it again
        pass
    images, _ = features.test_split(dataset, data_dir)
    real = features.to_float(data.to_size(images, size, channels))
    feats, logits = features.load(dataset).features_and_logits(real)
    buffer = io.BytesIO()
    torch.save({"features": feats, "logits": logits}, buffer)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        paths.atomic_write_bytes(cache, buffer.getvalue())
    except OSError:
        pass  # a read-only home only costs the recomputation next time
    return feats, logits


def reference_cache_file(dataset: str, size: int, channels: int, data_dir: str | None) -> Path:
    """Keyed by the classifier's bytes too: retrained weights must not meet stale features."""
    digest = hashlib.sha1(features.weights_path(dataset).read_bytes())
    digest.update(f"{size}/{channels}/{data_dir}".encode())
    return paths.home() / "cache" / f"reference-{dataset}-{digest.hexdigest()[:16]}.pt"


def reference_ready(dataset: str, size: int, channels: int, data_dir: str | None) -> bool:
    """Whether the reference features come for free (already in this process, or on disk)."""
    if (dataset, size, channels, data_dir) in _REFERENCE_IN_MEMORY:
        return True
    try:
        return reference_cache_file(dataset, size, channels, data_dir).is_file()
    except OSError:
        return False


_REFERENCE_IN_MEMORY: set = set()  # the keys _reference's lru_cache holds (it lists none itself)


def _image_metrics(samples: dict, config, seed: int, inception: bool) -> dict[str, float]:
    dataset = config.dataset
    if not features.available(dataset):
        known = ", ".join(d for d in features.SUPPORTED if features.available(d))
        raise GandashError(
            f"no feature space for '{dataset}': image metrics need a classifier of that dataset "
            f"(bundled: {known or 'none'}). Toy 2D datasets need none."
        )
    real_feats, real_logits = _reference(dataset, config.image_size, config.channels, config.data_dir)
    _REFERENCE_IN_MEMORY.add((dataset, config.image_size, config.channels, config.data_dir))
    fake_feats, fake_logits = features.load(dataset).features_and_logits(samples["images"])
    pick = torch.randperm(len(real_feats), generator=torch.Generator().manual_seed(seed))[: len(fake_feats)]
    kid_mean, _ = kid(real_feats, fake_feats, seed=seed)
    result = {"fid": frechet_distance(real_feats, fake_feats), "kid": 1000 * kid_mean}
    result.update(prdc(real_feats[pick], fake_feats))
    result.update(class_histogram(fake_logits, real_logits.shape[1]))
    if samples.get("labels") is not None:
        result["label_accuracy"] = label_accuracy(fake_logits, samples["labels"])
    if inception and inception_available():
        images, _ = features.test_split(dataset, config.data_dir)
        real = features.to_float(data.to_size(images, config.image_size, config.channels))
        result["fid_inception"] = standard_fid(real, samples["images"])
    return result


def _point_metrics(points: torch.Tensor, config, seed: int) -> dict[str, float]:
    meta = data.info(config.dataset)
    real = data.load(config.dataset, config.data_dir, seed=seed + 1).points  # not the training draw
    pick = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))[: len(points)]
    finite = points[torch.isfinite(points).all(1)]
    result = {}
    if meta.modes:
        coverage = mode_coverage(points.numpy(), np.asarray(meta.modes), meta.mode_std)
        result.update(
            modes=float(coverage["modes"]), modes_total=float(coverage["of"]), hq_percent=coverage["hq_percent"]
        )
    if len(finite) > 5:
        result["frechet"] = frechet_distance(real[pick], finite)
        result.update(prdc(real[pick], finite))
    return result


def evaluate(source, config, n: int = 2000, seed: int = 0, inception: bool = False) -> dict[str, float]:
    """The metrics of `source` (generator, sampling dict, images or points) for `config`'s dataset."""
    if n < 10:
        raise GandashError(f"evaluation needs at least 10 samples (got n={n}).")
    samples = _as_samples(source, config, n, seed)
    if "points" in samples:
        return _point_metrics(samples["points"], config, seed)
    return _image_metrics(samples, config, seed, inception)
