"""A VQ-VAE rendered by a renderer that has not loaded it yet: the first render loads it under inference_mode,
whose weights keep no version counter; the PixelCNN prior's remembered prefix (keyed by that counter) failed
every render with "Inference tensors do not track version counter"."""
import numpy as np
import torch

from ganstudio.engine import Renderer, RenderState
from ganstudio.latent.sampling import seeded_z


def test_a_vq_vae_renders_when_the_render_itself_loads_it(tmp_path):
    from ganstudio.checkpoints import save_checkpoint
    from ganstudio.models import create_generator, get_spec

    torch.manual_seed(0)
    path = tmp_path / "vq.safetensors"
    save_checkpoint(path, create_generator("vqvae", **get_spec("vqvae").tiny))
    r = Renderer("cpu")  # no load(): the render loads the model
    first, other, again = (r.render(RenderState(model=str(path), seed=s)) for s in (3, 4, 3))
    assert first.error == other.error == again.error == ""
    assert np.array_equal(first.image, again.image)
    G = r.generator(str(path))
    with torch.no_grad():  # report= never uses a remembered prefix: the reference codes
        ref = G.sample_codes(seeded_z([3], G.z_dim), report=lambda *_: None)
    _, _, ws = r.latents(RenderState(model=str(path), seed=3))
    assert np.array_equal(ws[0, 0].round().long().numpy(), ref.flatten().numpy())
