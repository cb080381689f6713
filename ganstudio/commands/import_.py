"""`ganstudio import SRC`: convert a checkpoint trained elsewhere to a GAN Studio checkpoint."""
NAME = "import"
HELP = "convert a foreign checkpoint (PyTorch DCGAN, BigGAN-deep, GAN zoo, StyleGAN...) to GAN Studio's format"


def add_arguments(p):
    p.add_argument("src", metavar="SRC", help="the checkpoint file (or pytorch-pretrained-biggan folder) to convert")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("--out", metavar="DST.safetensors",
                   help="where to write the converted checkpoint (default: next to SRC, with .safetensors)")
    p.add_argument("--info", action="store_true", help="only print what was detected; write nothing")


def _describe(G, meta, mod) -> str:
    lines = [f"detected: {mod.NAME} ({mod.DESCRIPTION})",
             f"model:    {G.model_name}, {G.img_resolution}x{G.img_resolution} px, {G.img_channels} channel(s), "
             f"z_dim={G.z_dim}" + (f", {G.c_dim} classes" if G.c_dim else "")]
    if meta.get("summary"):
        lines.append(f"found:    {meta['summary']}")
    for note in meta.get("notes") or []:
        lines.append(f"note:     {note}")
    return "\n".join(lines)


def run(args) -> int:
    from pathlib import Path

    from ganstudio.checkpoints import CheckpointError
    from ganstudio.checkpoints.importers import convert_foreign, default_destination, refuse_own, save_imported

    src = Path(args.src)
    if not src.exists():
        raise CheckpointError(f"{src}: no such file or folder")
    refuse_own(src)
    dst = Path(args.out) if args.out else default_destination(src)
    if not args.info and dst.exists() and dst.resolve() == src.resolve():
        raise CheckpointError(f"{dst}: the destination would overwrite the source")
    if not args.info and dst.is_dir():
        raise CheckpointError(f"--out {dst}: is a folder; name the file to write, e.g. {dst / (src.stem + '.safetensors')}")
    if not args.info and dst.exists() and not args.force:
        raise CheckpointError(f"--out {dst}: exists; pass --force to replace it")
    G, meta, mod = convert_foreign(src)
    print(_describe(G, meta, mod))
    if args.info:
        return 0
    save_imported(dst, G, meta, mod, src)
    print(f"wrote:    {dst}")
    return 0
