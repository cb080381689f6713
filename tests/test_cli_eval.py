"""`ganstudio eval`: its argument errors are one line naming the valid range."""
import pytest

from ganstudio.cli import main


@pytest.mark.parametrize("seed", [2**80, -1, 2**32])
def test_seed_out_of_range_names_the_range(tmp_path, capsys, seed):
    # --seed 2**80 said "Overflow when unpacking long long" (torch.manual_seed's words).
    assert main(["eval", "dcgan", "--seed", str(seed), "--n", "10", "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--seed must be in 0..{2**32 - 1}, got {seed}" in err, err
