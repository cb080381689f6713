"""Sample-quality metrics in the feature space of our Fashion-MNIST classifier.

* FCD, the Fréchet Classifier Distance: the Fréchet distance between Gaussians fitted to
  classifier features of real and generated images (FID's formula, our small network in place
  of Inception, so the numbers are not comparable with published FIDs).
* IS analogue: exp(E_x KL(p(y|x) || p(y))) with our 10-class classifier (1 to 10).
* Class accuracy of conditional samples (Odena et al. 2017, ACGAN): generate with class k, ask
  the classifier whether it sees k.
* Precision and recall (Kynkäänniemi et al. 2019): each set's manifold is the union of balls
  around its features reaching the k-th nearest neighbour (k=3); precision is the share of
  generated features inside the real manifold, recall the share of real ones inside the
  generated manifold.

FID/IS proper need Inception weights; they are used only when torch-fidelity is importable and
its weights are already on disk (see :func:`inception_available`).
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch

FID_UNAVAILABLE = "FID/IS: needs torch-fidelity with Inception weights (not available offline)"


# -- the statistics -------------------------------------------------------------------------------

def feature_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean [D] and unbiased covariance [D, D] of features [N, D], in float64."""
    f = features.double()
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need features [N >= 2, D], got {list(features.shape)}")
    mu = f.mean(0)
    d = f - mu
    return mu, d.T @ d / (len(f) - 1)


def _sqrtm_psd(a: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh((a + a.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), via symmetric eigendecompositions.

    The symmetric form has the same trace as FID's (S1 S2)^1/2 and needs no scipy; clamping
    tiny negative eigenvalues to 0 keeps it real for rank-deficient covariances.
    """
    mu1, mu2, s1, s2 = (t.double().cpu() for t in (mu1, mu2, sigma1, sigma2))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise ValueError(f"mismatched statistics: mu {list(mu1.shape)} / {list(mu2.shape)}, "
                         f"sigma {list(s1.shape)} / {list(s2.shape)}")
    r1 = _sqrtm_psd(s1)
    m = r1 @ s2 @ r1
    tr_covmean = torch.linalg.eigvalsh((m + m.T) / 2).clamp_min(0).sqrt().sum()
    d = float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean)
    return max(d, 0.0)


def fcd_from_features(real: torch.Tensor, fake: torch.Tensor) -> float:
    return frechet_distance(*feature_stats(real), *feature_stats(fake))


def inception_score(probs: torch.Tensor, splits: int = 1) -> float:
    """exp(E KL(p(y|x) || p(y))) from class probabilities [N, K]; mean over ``splits`` chunks."""
    p = probs.double().clamp_min(1e-12)
    scores = []
    for chunk in p.chunk(splits):
        py = chunk.mean(0, keepdim=True)
        kl = (chunk * (chunk.log() - py.log())).sum(1).mean()
        scores.append(math.exp(float(kl)))
    return sum(scores) / len(scores)


def _kth_radii(x: torch.Tensor, k: int, chunk: int = 1024) -> torch.Tensor:
    # Distance to the k-th nearest other point: the (k+1)-th smallest, the first being the point itself.
    out = []
    for i in range(0, len(x), chunk):
        d = torch.cdist(x[i:i + chunk], x)
        out.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(out)


def _inside(queries: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    out = []
    for i in range(0, len(queries), chunk):
        d = torch.cdist(queries[i:i + chunk], centres)
        out.append((d <= radii[None]).any(1))
    return torch.cat(out)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets [N, D], [M, D]."""
    real, fake = real.float(), fake.float()
    if min(len(real), len(fake)) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")
    precision = float(_inside(fake, real, _kth_radii(real, k)).float().mean())
    recall = float(_inside(real, fake, _kth_radii(fake, k)).float().mean())
    return precision, recall


def class_accuracy(probs: torch.Tensor, intended: torch.Tensor) -> float:
    """Share of samples the classifier assigns to the class they were generated for."""
    return float((probs.argmax(1) == intended.to(probs.device)).float().mean())


# -- images to the classifier's input -------------------------------------------------------------

def to_classifier_input(images: torch.Tensor, resolution: int = 32, channels: int = 1) -> torch.Tensor:
    """Any [N, C, H, W] in [-1, 1] -> [N, channels, resolution, resolution]: luma for RGB into a grey
    classifier (grey repeated into a colour one), antialiased resize, centre crop."""
    from ganstudio.training.data import resize_square
    x = images.float()
    if channels == 3 and x.shape[1] in (1, 3):
        return resize_square(x.expand(-1, 3, -1, -1), resolution).clamp(-1, 1)
    if x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114], device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif x.shape[1] != 1:
        raise ValueError(f"expected 1 or 3 channels, got {x.shape[1]}")
    return resize_square(x, resolution).clamp(-1, 1)


# -- generating and evaluating -------------------------------------------------------------------

def prior_z(z: torch.Tensor, G) -> torch.Tensor:
    """N(0, I) z as G was trained on it: an InfoGAN's code dims drawn from the codes' priors (one-hot
    category, uniform continuous codes; latent.codes, as the window renders a seed); others unchanged."""
    from ganstudio.latent import codes
    return codes.codes_from_normal(z, codes.layout_of(G))


@torch.no_grad()
def generated_features(G, n: int, batch: int, classifier, *, seed: int = 0, device="cpu",
                       truncation_psi: float = 1.0, progress: Optional[Callable[[int, int], None]] = None):
    """Generate n images (class-balanced for conditional G) -> (features [n, D], probs [n, K], classes or None)."""
    from ganstudio.models._base import one_hot
    gen = torch.Generator().manual_seed(seed)
    classes = torch.arange(n) % G.c_dim if G.c_dim else None
    feats, probs = [], []
    for i in range(0, n, batch):
        m = min(batch, n - i)
        z = prior_z(torch.randn(m, G.z_dim, generator=gen), G).to(device)
        c = one_hot(classes[i:i + m], G.c_dim).to(device) if classes is not None else None
        img = G(z, c, truncation_psi=truncation_psi)
        x = to_classifier_input(img, classifier.cfg.resolution, classifier.cfg.in_channels)
        x = x.to(next(classifier.parameters()).device)
        f = classifier.features(x)
        feats.append(f.float().cpu())
        probs.append(classifier.logits_from_features(f).softmax(1).float().cpu())
        if progress:
            progress(i + m, n)
    return torch.cat(feats), torch.cat(probs), classes


@torch.no_grad()
def reconstruction_error(G, data, *, n: int, batch: int = 250, device="cpu") -> dict:
    """How well an autoencoding generator (one with ``reconstruct(img)``, the VQ-VAE) reproduces the first
    ``n`` images of ``data`` (a training.data data set): mean squared error per pixel on [-1, 1] and PSNR (dB,
    peak-to-peak 2)."""
    n = min(n, len(data))
    was_training = G.training
    G.eval()
    try:
        total = 0.0
        for i in range(0, n, batch):
            real, _ = data.batch(torch.arange(i, min(n, i + batch)))
            real = real.to(device)
            total += float((G.reconstruct(real).float() - real).pow(2).sum())
    finally:
        G.train(was_training)
    mse = total / (n * G.img_channels * G.img_resolution ** 2)
    return {"recon_mse": mse, "recon_psnr": 10 * math.log10(4.0 / max(mse, 1e-12)), "recon_n": n}


def evaluate_generator(G, *, n: int = 5000, batch: int = 250, seed: int = 0, device="cpu",
                       classifier_path=None, class_names: Optional[list[str]] = None,
                       progress: Optional[Callable[[int, int], None]] = None) -> dict:
    """All classifier metrics for a generator against the shipped test-set statistics.

    Class accuracy is reported for conditional models only, and only when their classes can
    be matched to the classifier's (as many classes, same names or no names).
    """
    from ganstudio.training.classifier import load_classifier
    if n < 10:
        raise ValueError(f"need at least 10 samples, got n={n}")
    if batch < 1:
        raise ValueError(f"batch must be positive, got {batch}")
    clf = load_classifier(classifier_path, device=device)
    was_training = G.training
    G.eval()
    try:
        feats, probs, classes = generated_features(G, n, batch, clf.net, seed=seed, device=device, progress=progress)
    finally:
        G.train(was_training)
    if not torch.isfinite(feats).all():
        raise ValueError("the generator produced NaN/Inf images; cannot compute metrics")
    mu, sigma = feature_stats(feats)
    out = {"n": n, "fcd": frechet_distance(mu, sigma, clf.stats["mu"], clf.stats["sigma"]),
           "is": inception_score(probs)}
    real = clf.stats["pr_features"]
    m = min(len(real), len(feats))
    # Equal set sizes, as in the paper: the k-NN radii depend on how densely each set is sampled.
    out["precision"], out["recall"] = precision_recall(real[:m], feats[:m], k=int(clf.meta["stats"].get("pr_k", 3)))
    out["pr_samples"] = m
    if classes is not None:
        if G.c_dim == len(clf.class_names) and (not class_names or list(class_names) == clf.class_names):
            out["class_accuracy"] = class_accuracy(probs, classes)
        else:
            out["class_accuracy"] = None
            out["class_accuracy_note"] = (f"the model's {G.c_dim} classes do not match the classifier's "
                                          f"{len(clf.class_names)} classes ({', '.join(clf.class_names[:3])}, ...)")
    out["reference"] = dict(clf.meta.get("reference") or {})
    out["classifier_test_accuracy"] = clf.test_accuracy
    return out


def real_reference(n: int = 5000, *, data: str = "fashion-mnist", classifier_path=None, device="cpu") -> dict:
    """The figures a perfect generator would get: ``n`` real *training* images measured exactly as
    ``evaluate_generator`` measures n generated ones (FCD against the shipped test-set statistics,
    precision / recall against the same test features at the same set size, the IS analogue).
    The first n images in file order, so the figures are reproducible."""
    from ganstudio.training.classifier import feature_batches, load_classifier
    from ganstudio.training.data import make_dataset
    if n < 10:
        raise ValueError(f"need at least 10 images, got n={n}")
    clf = load_classifier(classifier_path, device=device)
    train = make_dataset(data, 32, 1, split="train", limit=n)
    if len(train) < n:
        raise ValueError(f"{data}'s training split has {len(train)} images, fewer than n={n}")
    x, _ = train.batch(torch.arange(n))
    feats, probs = [], []
    with torch.no_grad():
        for f, logits in feature_batches(clf.net, x.to(device)):
            feats.append(f.float().cpu())
            probs.append(logits.softmax(1).cpu())
    feats, probs = torch.cat(feats), torch.cat(probs)
    mu, sigma = feature_stats(feats)
    real = clf.stats["pr_features"]
    m = min(len(real), len(feats))
    precision, recall = precision_recall(real[:m], feats[:m], k=int(clf.meta["stats"].get("pr_k", 3)))
    return {"source": f"{data} training split, first {n} images, against the test split", "n": n,
            "fcd": frechet_distance(mu, sigma, clf.stats["mu"], clf.stats["sigma"]), "is": inception_score(probs),
            "precision": precision, "recall": recall, "pr_samples": m}


# -- Inception (optional) -------------------------------------------------------------------------

def inception_available() -> bool:
    """True when torch-fidelity is importable and its Inception weights are already on disk."""
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        return False
    import os
    from pathlib import Path
    hub = Path(os.environ.get("TORCH_HOME", Path.home() / ".cache" / "torch")) / "hub" / "checkpoints"
    return any(hub.glob("weights-inception-2015-12-05-*.pth")) if hub.is_dir() else False


def fid_is_inception(G, *, n: int, batch: int, device="cpu", seed: int = 0, real_dir: Optional[str] = None) -> dict:
    """FID/IS with torch-fidelity's Inception, when available; otherwise a note saying why not."""
    if not inception_available():
        return {"note": FID_UNAVAILABLE}
    import torch_fidelity
    from ganstudio.models._base import one_hot

    class _Samples(torch.utils.data.Dataset):
        def __init__(self):
            self.gen = torch.Generator().manual_seed(seed)

        def __len__(self):
            return n

        @torch.no_grad()
        def __getitem__(self, i):
            g = torch.Generator().manual_seed(seed * 1_000_003 + i)
            z = prior_z(torch.randn(1, G.z_dim, generator=g), G).to(device)
            c = one_hot(torch.tensor([i % G.c_dim]), G.c_dim).to(device) if G.c_dim else None
            img = G(z, c)[0].cpu()
            if img.shape[0] == 1:
                img = img.expand(3, -1, -1)
            return ((img + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)

    kw = dict(input1=_Samples(), isc=True, batch_size=batch, cuda=str(device).startswith("cuda"), verbose=False)
    if real_dir:
        kw.update(input2=real_dir, fid=True)
    res = torch_fidelity.calculate_metrics(**kw)
    out = {"is_inception": float(res["inception_score_mean"])}
    if "frechet_inception_distance" in res:
        out["fid"] = float(res["frechet_inception_distance"])
    return out
