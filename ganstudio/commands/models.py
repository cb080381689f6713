"""`ganstudio models`: list the registry and the shipped models."""
NAME = "models"
HELP = "list the registered model families and the shipped pretrained models"


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="machine-readable output")


def run(args) -> int:
    import json

    from ganstudio.models import get_spec, list_models
    from ganstudio.pretrained import list_pretrained

    rows = [{"name": n, "family": get_spec(n).family, "description": get_spec(n).description} for n in list_models()]
    shipped = list_pretrained()
    if args.json:
        print(json.dumps({"registry": rows, "pretrained": shipped}, indent=2))
        return 0
    print("Registered models:")
    _table([[r["name"], r["family"], r["description"]] for r in rows])
    print("\nShipped models:" if shipped else "\nShipped models: none yet (see pretrained/)")
    _table([[m["name"], m.get("family", ""), m.get("data", ""), m.get("file", "")] for m in shipped])
    return 0


def _table(rows: list[list[str]]) -> None:
    """Rows as columns as wide as their widest cell (the last column is not padded)."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]) - 1)] if rows else []
    for r in rows:
        print("  " + "  ".join([f"{str(c):<{w}}" for c, w in zip(r, widths)] + [str(r[-1])]))
