"""Latent-space operations, pure torch/numpy: sampling, truncation, interpolation, classes, mixing, noise, directions."""
from ganstudio.latent.arithmetic import vector_arithmetic
from ganstudio.latent.classes import class_blend, class_vector
from ganstudio.latent.directions import apply_direction, pca_directions, sefa_directions
from ganstudio.latent.interpolation import lerp, norm_blend, slerp
from ganstudio.latent.mixing import layer_presets, style_mix, style_mix_sources
from ganstudio.latent.noise import NoiseLayer, noise_inputs
from ganstudio.latent.sampling import parse_seeds, seeded_z
from ganstudio.latent.truncation import scaled_truncated_z, truncate_w, truncate_z, truncated_z

__all__ = ["NoiseLayer", "apply_direction", "class_blend", "class_vector", "layer_presets", "lerp", "noise_inputs", "norm_blend",
           "parse_seeds", "pca_directions", "scaled_truncated_z", "sefa_directions", "seeded_z", "slerp", "style_mix", "style_mix_sources",
           "truncate_w", "truncate_z", "truncated_z", "vector_arithmetic"]
