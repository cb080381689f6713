"""Pure-torch model families, one per file, all reached through the registry."""
from ganstudio.models._base import Capabilities, Discriminator, Generator, check_shape, one_hot
from ganstudio.models._registry import (ModelSpec, create_discriminator, create_generator, get_spec, list_models,
                                        make_config, register, tiny_config)

__all__ = ["Capabilities", "Discriminator", "Generator", "ModelSpec", "check_shape", "create_discriminator",
           "create_generator", "get_spec", "list_models", "make_config", "one_hot", "register", "tiny_config"]
