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
    for r in rows:
        print(f"  {r['name']:<20} {r['family']:<12} {r['description']}")
    print("\nShipped models:" if shipped else "\nShipped models: none yet (see pretrained/)")
    for m in shipped:
        print(f"  {m['name']:<20} {m.get('family', ''):<12} {m.get('data', '')}  {m.get('file', '')}")
    return 0
