"""`ganstudio eval CHECKPOINT`: sample quality measured with a shipped classifier (Fashion-MNIST's, or the
emoji group classifier for models trained on emoji)."""
NAME = "eval"
HELP = ("measure a checkpoint: FCD, IS analogue, precision/recall, class accuracy (Fashion-MNIST classifier; "
        "the emoji group classifier for emoji models)")

# "mnist" alone is not enough: the classifier and its reference statistics are Fashion-MNIST's, so an
# MNIST digit model would be measured against clothes.
_FMNIST_WORDS = ("fashion", "fmnist")
MAX_N = 200_000  # the features of every sample are kept: 200k is ~0.1 GB, and hours of generating on a CPU


def add_arguments(p):
    p.add_argument("checkpoint", help="a checkpoint file or a shipped model name")
    p.add_argument("--n", type=int, default=5000, help="number of generated samples (default 5000)")
    p.add_argument("--batch", type=int, default=250, help="samples per generator call (default 250)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled latents")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--classifier", default=None, help="another classifier file (default: the shipped one)")
    p.add_argument("--force", action="store_true",
                   help="compute FCD and friends even for models not trained on Fashion-MNIST-like data")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def fmnist_like(meta: dict, img_channels: int) -> tuple[bool, str]:
    """Whether the classifier's features mean something for this model, and why we think so."""
    from ganstudio.training.data import FASHION_MNIST_CLASSES
    training = meta.get("training") or {}
    data = ""
    for key in ("data", "dataset", "data_spec"):
        if isinstance(training.get(key), str):
            data = training[key]
            break
    names = list(meta.get("class_names") or [])
    if names == FASHION_MNIST_CLASSES:
        return True, "its classes are Fashion-MNIST's"
    if data:
        if any(w in data.lower() for w in _FMNIST_WORDS):
            return True, f"trained on {data}"
        return False, f"trained on {data}"
    if img_channels == 1:
        return True, "a grey model with no recorded data set (assumed Fashion-MNIST-like)"
    return False, "an RGB model with no recorded data set"


def trained_on_emoji(meta: dict) -> bool:
    """Whether the checkpoint records emoji (or emoji-base) as its training data: the emoji classifier measures it."""
    from ganstudio.training.emoji import is_emoji_spec
    training = meta.get("training") or {}
    return any(isinstance(training.get(k), str) and is_emoji_spec(training[k]) for k in ("data", "dataset", "data_spec"))


def run(args) -> int:
    import json
    import sys
    import time

    import torch

    from ganstudio.checkpoints import load_checkpoint
    from ganstudio.cli import UsageError
    from ganstudio.latent.sampling import MAX_SEED
    from ganstudio.pretrained import resolve
    from ganstudio.training import metrics
    from ganstudio.training.classifier import ClassifierError

    if not 10 <= args.n <= MAX_N:
        raise UsageError(f"--n must be between 10 and {MAX_N} (FID's usual count is 50000), got {args.n}")
    if args.batch < 1:
        raise UsageError(f"--batch must be positive, got {args.batch}")
    if not 0 <= args.seed <= MAX_SEED:  # torch's "Overflow when unpacking long long" otherwise
        raise UsageError(f"--seed must be in 0..{MAX_SEED}, got {args.seed}")
    from ganstudio.engine import pick_device
    try:
        device = pick_device(args.device)  # cpu, cuda[:N], mps, auto: each checked to be there
    except (ValueError, RuntimeError) as e:
        raise UsageError(f"--device {args.device}: {e}") from None
    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    ckpt = load_checkpoint(resolve(args.checkpoint), device=device)
    G = ckpt.G
    like, why = fmnist_like(ckpt.meta, G.img_channels)
    classifier, geometry = args.classifier, (32, 1)
    if classifier is None and trained_on_emoji(ckpt.meta):
        from ganstudio.training.classifier import EMOJI_PATH
        classifier, geometry = EMOJI_PATH, (64, 3)
        like, why = True, f"{why}: measured with the emoji group classifier"
    result = {"checkpoint": str(ckpt.path), "model": ckpt.model_name,
              "geometry": f"{G.img_resolution}px {'grey' if G.img_channels == 1 else 'RGB'}",
              "fashion_mnist_like": like, "data_note": why}
    if not like and not args.force:
        result["note"] = (f"FCD, IS analogue and precision/recall are only defined for Fashion-MNIST-like data "
                          f"(this model: {why}); pass --force to compute them anyway")
    else:
        t0 = time.time()
        progress = None
        if not args.json and sys.stderr.isatty():
            def progress(done, total):
                print(f"\rgenerating {done}/{total}", end="" if done < total else "\n", file=sys.stderr)
        try:
            result.update(metrics.evaluate_generator(G, n=args.n, batch=args.batch, seed=args.seed, device=device,
                                                     classifier_path=classifier,
                                                     class_names=ckpt.class_names, progress=progress))
        except ClassifierError as e:
            raise UsageError(str(e)) from None
        result["seconds"] = round(time.time() - t0, 2)
        if hasattr(G, "reconstruct"):  # an autoencoder: how well it reproduces the test set too
            result.update(_reconstruction(G, ckpt.meta, args, device))
        if args.classifier is None and (G.img_resolution, G.img_channels) != geometry:
            result["resized_note"] = (f"samples were converted to {geometry[0]} px "
                                      f"{'grey' if geometry[1] == 1 else 'RGB'} for the classifier")
    if G.img_channels == 3 and metrics.inception_available():
        result["inception"] = metrics.fid_is_inception(G, n=args.n, batch=args.batch, device=device, seed=args.seed)
    else:
        result["inception"] = {"note": metrics.FID_UNAVAILABLE}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    _print(result)
    return 0


def _reconstruction(G, meta: dict, args, device) -> dict:
    """The reconstruction error on the test split of the model's training data (a note when it is missing)."""
    from ganstudio.training import metrics
    from ganstudio.training.data import DatasetError, make_dataset
    name = (meta.get("training") or {}).get("data") or "fashion-mnist"
    try:
        data = make_dataset(name, G.img_resolution, G.img_channels, split="test")
    except (DatasetError, ValueError, OSError) as e:
        return {"recon_note": f"no reconstruction error: the test split of {name} cannot be read ({e})"}
    return {**metrics.reconstruction_error(G, data, n=args.n, batch=args.batch, device=device), "recon_data": name}


def _print(r: dict) -> None:
    print(f"{r['checkpoint']}: {r['model']}, {r['geometry']}")
    if "note" in r:
        print(f"  {r['note']}")
    else:
        ref = r.get("reference") or {}
        if not r["fashion_mnist_like"]:
            print(f"  warning: {r['data_note']}; numbers computed with --force")
        print(f"  samples           {r['n']} (seed-fixed latents, {r['seconds']} s)")
        ref_fcd = f"   (real train vs test: {ref['fcd_train10k_vs_test']:.3f})" if "fcd_train10k_vs_test" in ref else ""
        if "fcd_test_vs_train" in ref:  # the emoji classifier: the test split against the train split
            ref_fcd = (f"   (real test vs train, n={ref['n']}: {ref['fcd_test_vs_train']:.3f}; precision "
                       f"{ref['precision_test_vs_train']:.3f}, recall {ref['recall_test_vs_train']:.3f})")
        print(f"  FCD               {r['fcd']:.3f}{ref_fcd}")
        ref_is = f"   (real test images: {ref['is_test']:.3f})" if "is_test" in ref else ""
        print(f"  IS analogue       {r['is']:.3f}{ref_is}")
        print(f"  precision         {r['precision']:.3f}   (k=3, {r['pr_samples']} vs {r['pr_samples']} features)")
        print(f"  recall            {r['recall']:.3f}")
        if "class_accuracy" in r:
            acc = r["class_accuracy"]
            print(f"  class accuracy    {acc:.3f}" if acc is not None else f"  class accuracy    n/a: {r['class_accuracy_note']}")
        if "recon_mse" in r:
            print(f"  reconstruction    MSE {r['recon_mse']:.5f} per pixel on [-1, 1], PSNR {r['recon_psnr']:.2f} dB "
                  f"({r['recon_n']} test images of {r['recon_data']})")
        elif "recon_note" in r:
            print(f"  {r['recon_note']}")
        if "resized_note" in r:
            print(f"  note: {r['resized_note']}")
    inc = r.get("inception") or {}
    if "note" in inc:
        print(f"  {inc['note']}")
    else:
        for k, v in inc.items():
            print(f"  {k:<17} {v:.3f}")
