"""The model card's content without Qt: what a checkpoint says about itself, as (label, HTML) rows.

The Model card panel shows these rows; anything else (a report, the command line) can build them alike.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Optional

from ganstudio._duration import format_duration
from ganstudio.engine.renderer import ModelInfo

# Known metric keys: label and how to print them; other keys are listed as they come.
METRICS = {
    "fcd": ("FCD (Fréchet classifier distance, lower is better)", "{:.2f}"),
    "fcd_untrained": ("FCD of the same net untrained", "{:.2f}"),
    "pixel_fd": ("Pixel Fréchet distance (lower is better)", "{:.2f}"),
    "pixel_fd_untrained": ("Pixel FD of the same net untrained", "{:.2f}"),
    "class_accuracy": ("Class accuracy (classifier agrees with the asked class)", "{:.1%}"),
    "precision": ("Precision", "{:.3f}"),
    "recall": ("Recall", "{:.3f}"),
    "is": ("Inception-style score with the data set's classifier (higher is better)", "{:.2f}"),
    "inception_score": ("Inception-style score (higher is better)", "{:.2f}"),
    "eval_n": ("Samples evaluated", "{:d}"),
    "ppl_z": ("Perceptual path length in z, full sampling (classifier features; lower is smoother)", "{:.4g}"),
    "ppl_w": ("Perceptual path length in w, full sampling (classifier features; lower is smoother)", "{:.4g}"),
}
UNTRAINED_NOTICE = "Untrained (random weights): images are noise-like, not samples of any data set."


def manifest_entry(key: str) -> Optional[dict]:
    """The shipped model's manifest entry for a model string: its name, or a path to its file."""
    from ganstudio import pretrained
    entries = pretrained.list_pretrained()
    for e in entries:
        if e["name"] == key:
            return e
    if key.startswith("registry:"):
        return None
    try:
        path = Path(key).resolve()
    except OSError:
        return None
    for e in entries:
        try:
            if (pretrained.PRETRAINED_DIR / e.get("file", "")).resolve() == path:
                return e
        except OSError:
            continue
    return None


def _fmt_number(v) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return html.escape(str(v))
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def format_metric(key: str, value) -> tuple[str, str]:
    label, fmt = METRICS.get(key, (key.replace("_", " "), ""))
    if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return label, fmt.format(value)
        except ValueError:  # e.g. a count written as a float
            pass
    return label, _fmt_number(value)


def _imported_text(imported: dict) -> str:
    """Where a converted checkpoint came from: the file, the importer, and what the importer noted."""
    text = (f"from <code>{html.escape(str(imported.get('from', '?')))}</code> by the "
            f"{html.escape(str(imported.get('importer', '?')))} importer")
    details = imported.get("details")
    if isinstance(details, dict) and details:
        text += "<br>" + ", ".join(f"{html.escape(str(k))} {_fmt_number(v)}" for k, v in details.items()
                                   if not isinstance(v, (dict, list)) or len(str(v)) < 60)
    notes = imported.get("notes")
    if isinstance(notes, list):
        text += "".join(f"<br>• {html.escape(str(n))}" for n in notes[:8])
    return text


def card_fields(info: ModelInfo) -> tuple[list[tuple[str, str]], dict]:
    """(rows of (label, text) for the card, the source dict it came from) for a loaded model."""
    from ganstudio.models import get_spec
    entry = manifest_entry(info.key)
    meta = info.meta or {}
    training = meta.get("training") if isinstance(meta.get("training"), dict) else {}
    rows: list[tuple[str, str]] = []
    try:
        spec = get_spec(info.model_name)
        paper, description = spec.paper, spec.description
    except KeyError:
        paper, description = "", ""
    family = (entry or {}).get("family") or info.family
    rows.append(("Family", f"{family} (registry model <code>{html.escape(info.model_name)}</code>)"))
    if description:
        rows.append(("About", html.escape(description)))
    extra = meta.get("extra") if isinstance(meta.get("extra"), dict) else {}
    imported = extra.get("imported") if isinstance(extra.get("imported"), dict) else None
    source = "shipped model (pretrained/manifest.json)" if entry else (
        "imported checkpoint (converted, no training record)" if imported and not training else (
        "untrained registry model" if info.untrained else "checkpoint metadata" if training or meta.get("metrics")
        else "checkpoint metadata (no training record: possibly untrained or imported)"))
    rows.append(("Card from", source))
    if imported:
        rows.append(("Imported", _imported_text(imported)))
    data = (entry or {}).get("data") or training.get("data")
    rows.append(("Data", html.escape(str(data)) if data else "—"))
    rows.append(("Resolution", f"{info.resolution}×{info.resolution} px, {info.channels} channel"
                               f"{'s' if info.channels != 1 else ''}"))
    rows.append(("Latent", f"z {info.z_dim}-d" + (f", w {info.w_dim}-d × {info.num_ws}"
                                                   if info.capabilities.style_layers else "")))
    if info.c_dim:
        names = info.class_names or [str(i) for i in range(info.c_dim)]
        shown = ", ".join(html.escape(str(n)) for n in names[:20])
        more = f" … (+{len(names) - 20})" if len(names) > 20 else ""
        rows.append(("Classes", f"{info.c_dim}: {shown}{more}"))
    else:
        rows.append(("Classes", "unconditional"))
    metrics = (entry or {}).get("metrics") or meta.get("metrics") or {}
    if isinstance(metrics, dict) and metrics:
        order = list(METRICS)
        keys = sorted((k for k, v in metrics.items() if not isinstance(v, (dict, list))),
                      key=lambda k: order.index(k) if k in order else len(order))
        lines = [f"{html.escape(label)}: <b>{text}</b>" for label, text in (format_metric(k, metrics[k]) for k in keys)]
        rows.append(("Metrics", "<br>".join(lines)))
    elif not info.untrained:
        rows.append(("Metrics", "none recorded"))
    if entry and entry.get("command"):
        rows.append(("Recipe", f"<code>{html.escape(str(entry['command']))}</code>"))
    elif training:
        parts = [f"{k} {training[k]}" for k in ("preset", "loss", "batch", "ema", "seed") if k in training]
        if parts:
            rows.append(("Recipe", html.escape(", ".join(str(p) for p in parts))))
    steps = (entry or {}).get("steps") or training.get("step")
    if steps:
        total = training.get("steps")
        rows.append(("Steps", f"{steps}" + (f" of {total}" if total and total != steps else "")
                     + (f" ({training['kimg']:.0f} kimg)" if isinstance(training.get("kimg"), (int, float)) else "")))
    wall = (entry or {}).get("wall_time_s")
    if wall:
        device = (entry or {}).get("device")
        rows.append(("Wall time", format_duration(wall) + (f" on {html.escape(str(device))}" if device else "")))
    if entry and entry.get("notes"):  # what the samples look like, as the recipe's author described them
        rows.append(("Notes", html.escape(str(entry["notes"]))))
    if entry and entry.get("license"):  # e.g. a model trained on images rendered from a font
        rows.append(("Licence", html.escape(str(entry["license"]))))
    if "stage" in training:
        rows.append(("Saved at stage", f"{training['stage']} (fade-in α {training.get('alpha', 1.0):g})"))
    if paper:
        rows.append(("Paper", html.escape(paper)))
    recipe_paper = str((entry or {}).get("paper") or "")
    # A recipe may follow another paper than the architecture's (WGAN-GP training of a DCGAN).
    if recipe_paper and (not paper or recipe_paper.split()[0].strip(",.") not in paper):
        rows.append(("Paper" if not paper else "Training", html.escape(recipe_paper)))
    config = meta.get("config")
    if isinstance(config, dict) and config:
        rows.append(("Config", "<br>".join(f"{html.escape(str(k))} = {html.escape(str(v))}"
                                           for k, v in config.items())))
    return rows, (entry or meta)
