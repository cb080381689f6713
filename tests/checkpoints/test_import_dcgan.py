"""PyTorch DCGAN example checkpoints import onto our dcgan with identical outputs."""
import pytest
import torch
from torch import nn

from ganstudio.checkpoints import CheckpointError, load_checkpoint
from ganstudio.checkpoints.importers import import_file, open_any


class ExampleGenerator(nn.Module):
    """The pytorch/examples DCGAN generator layout (written here for the test), any depth."""

    def __init__(self, nz=100, ngf=64, nc=3, n_hidden=4):
        super().__init__()
        layers, ch_in = [], nz
        for i in range(n_hidden):
            ch = ngf * 2 ** (n_hidden - 1 - i)
            layers += [nn.ConvTranspose2d(ch_in, ch, 4, 1 if i == 0 else 2, 0 if i == 0 else 1, bias=False),
                       nn.BatchNorm2d(ch), nn.ReLU(True)]
            ch_in = ch
        layers += [nn.ConvTranspose2d(ch_in, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z)


def _randomized(net, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.ConvTranspose2d):
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * 0.05)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.2 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.3 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
    return net.eval()


def _check_parity(ref, G, nz, seed=0):
    z = torch.randn(4, nz, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        want = ref(z[:, :, None, None])
        got = G(z)
    assert got.shape == want.shape
    assert (got - want).abs().max().item() <= 1e-4


@pytest.mark.parametrize("n_hidden,res,nz,ngf,nc", [(4, 64, 100, 8, 3), (3, 32, 16, 4, 1)])
def test_state_dict_parity(tmp_path, n_hidden, res, nz, ngf, nc):
    ref = _randomized(ExampleGenerator(nz, ngf, nc, n_hidden), seed=n_hidden)
    src = tmp_path / "netG_epoch_24.pth"
    torch.save(ref.state_dict(), src)
    ck = open_any(src)
    G = ck.G
    assert ck.model_name == "dcgan"
    assert (G.z_dim, G.img_resolution, G.img_channels, G.config.ngf) == (nz, res, nc, ngf)
    _check_parity(ref, G, nz)
    # Converted file loads through our own loader with the same outputs.
    dst = import_file(src, tmp_path / "out.safetensors")
    _check_parity(ref, load_checkpoint(dst).G, nz, seed=1)


def test_training_checkpoint_with_netG_and_netD(tmp_path):
    ref = _randomized(ExampleGenerator(32, 8, 3, 4), seed=3)
    # The example's discriminator also has main.N keys: the importer must pick G, not D.
    netD = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1, bias=False), nn.LeakyReLU(0.2), nn.Conv2d(8, 16, 4, 2, 1, bias=False),
                         nn.BatchNorm2d(16), nn.LeakyReLU(0.2), nn.Conv2d(16, 1, 4, 1, 0, bias=False))
    D = nn.Module()
    D.main = netD
    src = tmp_path / "checkpoint.pt"
    torch.save({"epoch": 7, "netD": D.state_dict(), "netG": ref.state_dict(), "lossG": 0.5}, src)
    ck = open_any(src)
    assert ck.meta["extra"]["imported"]["details"]["found_at"] == "netG"
    _check_parity(ref, ck.G, 32)


def test_dataparallel_prefix_and_generator_key(tmp_path):
    ref = _randomized(ExampleGenerator(20, 4, 3, 3), seed=5)
    sd = {"module." + k: v for k, v in ref.state_dict().items()}
    src = tmp_path / "g.pth"
    torch.save({"generator": sd}, src)
    _check_parity(ref, open_any(src).G, 20)


def test_discriminator_alone_is_not_taken_for_a_generator(tmp_path):
    D = nn.Module()
    D.main = nn.Sequential(nn.Conv2d(3, 8, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
                           nn.Conv2d(8, 16, 4, 2, 1, bias=False), nn.BatchNorm2d(16))
    src = tmp_path / "netD.pth"
    torch.save(D.state_dict(), src)
    with pytest.raises(CheckpointError, match="no importer recognises"):
        open_any(src)


def test_widths_that_do_not_halve_are_a_clear_error(tmp_path):
    ref = ExampleGenerator(10, 4, 3, 3)
    ref.main[3] = nn.ConvTranspose2d(16, 6, 4, 2, 1, bias=False)  # 16 -> 6 -> ... breaks the doubling
    ref.main[4] = nn.BatchNorm2d(6)
    ref.main[6] = nn.ConvTranspose2d(6, 4, 4, 2, 1, bias=False)
    src = tmp_path / "odd.pth"
    torch.save(ref.state_dict(), src)
    with pytest.raises(CheckpointError, match="do not halve"):
        open_any(src)


def test_a_state_dict_from_before_num_batches_tracked_imports(tmp_path):
    # PyTorch < 0.4.1 saved no BatchNorm counters: the early netG_epoch_*.pth files were refused.
    ref = _randomized(ExampleGenerator(16, 4, 1, 3), seed=2)
    sd = {k: v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    src = tmp_path / "netG_old.pth"
    torch.save(sd, src)
    _check_parity(ref, open_any(src).G, 16)


def test_import_out_refuses_a_folder_and_an_existing_file_without_force(tmp_path, capsys):
    import os
    import stat
    from ganstudio.cli import main
    ref = _randomized(ExampleGenerator(16, 4, 1, 3), seed=2)
    src = tmp_path / "netG.pth"
    torch.save(ref.state_dict(), src)
    dst = tmp_path / "g.safetensors"
    old = os.umask(0o022)
    try:
        assert main(["import", str(src), "--out", str(dst)]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(dst.stat().st_mode) == 0o644  # safetensors wrote 0600: unreadable for others
    capsys.readouterr()
    assert main(["import", str(src), "--out", str(dst)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(["import", str(src), "--out", str(dst), "--force"]) == 0
    assert main(["import", str(src), "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
