"""BigGAN-deep: our family file, and pytorch-pretrained-biggan folders imported with identical outputs."""
import json

import pytest
import torch

from ganstudio.checkpoints import load_checkpoint
from ganstudio.checkpoints.importers import import_file, open_any
from ganstudio.models import create_generator
from ganstudio.models.biggan_deep import default_layers
from ganstudio.resources_data import imagenet_class_names

SMALL = dict(output_dim=32, z_dim=16, class_embed_dim=16, channel_width=4, num_classes=10,
             layers=[[False, 16, 8], [True, 8, 4], [False, 4, 4], [True, 4, 2], [False, 2, 2], [True, 2, 1]],
             attention_layer_position=2, eps=1e-4, n_stats=11)


def _reference(config: dict, seed=0):
    """pytorch-pretrained-biggan's BigGAN with random weights and random per-truncation statistics."""
    ppb = pytest.importorskip("pytorch_pretrained_biggan",
                              reason="pytorch-pretrained-biggan is not installed (pip install pytorch-pretrained-biggan)")
    torch.manual_seed(seed)
    model = ppb.BigGAN(ppb.BigGANConfig.from_dict(config))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_vars"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith(("running_means", "bias", "gamma")):
                t.copy_(0.2 * torch.randn(t.shape, generator=g))
            elif name.endswith(("scale.weight_u", "offset.weight_u")):
                # A longer u divides these weights by a larger sigma: BatchNorm gains stay near 1, so
                # random weights neither explode nor vanish (the formula the importer folds is unchanged).
                t.mul_(20.0)
            elif name == "generator.bn.weight":  # the reference leaves this one uninitialized
                t.copy_(1 + 0.2 * torch.randn(t.shape, generator=g))
    return model.eval()


def _save_pretrained(model, folder):
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(model.config.to_dict()))
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return folder


def _inputs(n, z_dim, c_dim, seed=1):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, z_dim, generator=g).clamp(-2, 2)
    c = torch.nn.functional.one_hot(torch.arange(n) % c_dim, c_dim).float()
    return z, c


def test_folder_parity(tmp_path):
    ref = _reference(SMALL)
    folder = _save_pretrained(ref, tmp_path / "biggan-small")
    G = open_any(folder).G
    assert G.model_name == "biggan-deep" and G.img_resolution == 32 and G.c_dim == 10
    z, c = _inputs(3, 16, 10)
    c[2] = 0.3 * c[0] + 0.7 * c[1]  # a class blend: the reference also takes any class vector
    # 0.4 and 0.55 fall between stored statistics (interpolated); 1.0 hits one.
    for truncation in (1.0, 0.4, 0.55):
        with torch.no_grad():
            want = ref(z * truncation, c, truncation)
            got = G(z * truncation, c, truncation_psi=truncation)
        assert got.shape == want.shape == (3, 3, 32, 32)
        assert (got - want).abs().max().item() <= 1e-4, truncation


def test_lone_weights_file_infers_the_architecture(tmp_path):
    ref = _reference(SMALL, seed=2)
    src = tmp_path / "pytorch_model.bin"
    torch.save(ref.state_dict(), src)  # no config.json beside it
    ck = open_any(src)
    assert [list(x) for x in ck.meta["config"]["layers"]] == SMALL["layers"]
    z, c = _inputs(2, 16, 10, seed=3)
    with torch.no_grad():
        assert (ck.G(z, c, truncation_psi=0.7) - ref(z, c, 0.7)).abs().max().item() <= 1e-4


def test_import_writes_our_format_with_imagenet_names(tmp_path):
    cfg = dict(SMALL, num_classes=1000)
    ref = _reference(cfg, seed=4)
    folder = _save_pretrained(ref, tmp_path / "biggan-deep-32")
    dst = import_file(folder)
    assert dst == tmp_path / "biggan-deep-32.safetensors"
    ck = load_checkpoint(dst)
    assert ck.class_names == imagenet_class_names() and ck.class_names[0] == "tench"
    z, c = _inputs(2, 16, 1000, seed=5)
    with torch.no_grad():
        assert (ck.G(z, c, truncation_psi=0.5) - ref(z, c, 0.5)).abs().max().item() <= 1e-4


def test_truncation_selects_statistics_and_is_validated():
    torch.manual_seed(0)
    G = create_generator("biggan-deep", img_resolution=16, z_dim=8, c_dim=5, channel_width=4, n_stats=3,
                         layers=((False, 4, 4), (True, 4, 2), (False, 2, 2), (True, 2, 1)),
                         attention_layer_position=2).eval()
    with torch.no_grad():
        for name, t in G.named_buffers():
            if name.endswith("running_means"):
                t.copy_(torch.randn(t.shape))
        z, c = _inputs(2, 8, 5)
        a, b = G(z, c, truncation_psi=1.0), G(z, c, truncation_psi=0.5)
        assert not torch.allclose(a, b)
        assert torch.equal(G.synthesis(G.mapping(z, c), c, truncation=0.5), b)
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(ValueError, match="truncation"):
            G(z, c, truncation_psi=bad)


def test_default_schedules():
    assert len(default_layers(128)) == 10 and len(default_layers(256)) == 12 and len(default_layers(512)) == 14
    G = create_generator("biggan-deep", img_resolution=128, channel_width=8, z_dim=8, c_dim=3)
    assert G.attention_index == 8 and G.capabilities().attention
