"""Every shipped model carries its perceptual path length (issue 18), consistent with its own record."""
import json

import pytest

from ganstudio import pretrained

ENTRIES = json.loads((pretrained.PRETRAINED_DIR / "manifest.json").read_text())["models"]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_entry_has_ppl_in_z_and_in_w_where_the_model_has_w(entry):
    m = entry["metrics"]
    how = f"ganstudio ppl {entry['name']} --n 2000 --seed 0 --out X.json, then write it into metrics"
    assert "ppl_z" in m and isinstance(m.get("ppl"), dict), f"{entry['name']}: no PPL in the manifest ({how})"
    p = m["ppl"]
    assert p["command"].startswith(f"ganstudio ppl {entry['name']} ") and p["eps"] == 1e-4 and p["n"] >= 1000
    spaces = ("z", "w") if entry["model"].startswith("stylegan") else ("z",)
    for space in spaces:
        r = p[space]
        assert m[f"ppl_{space}"] == pytest.approx(r["mean"], rel=1e-3)
        assert 0 < r["ci_low"] <= r["mean"] <= r["ci_high"] and r["std"] > 0
        assert p["n"] * 0.97 <= r["n_kept"] <= p["n"]  # the 1st-99th percentile filter drops about 2 %
