"""`ganstudio models`: every registered family and shipped model, in aligned columns."""
import json

from ganstudio.cli import main
from ganstudio.models import list_models
from ganstudio.pretrained import list_pretrained


def test_models_lists_every_family_and_shipped_model_in_aligned_columns(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    registry, _, shipped = out.partition("Shipped models")
    rows = [line for line in shipped.splitlines()[1:] if line.strip()]
    assert [r.split()[0] for r in rows] == [m["name"] for m in list_pretrained()]
    for m, r in zip(list_pretrained(), rows):  # each column starts where it does in the first row
        assert r.index(m["file"]) == rows[0].index(list_pretrained()[0]["file"])
    for name in list_models():
        assert f"  {name} " in registry


def test_models_json(capsys):
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in data["registry"]] == list_models()
