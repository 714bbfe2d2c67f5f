"""The activation functions a model can be built with, by name: the one table for the package
(the tower's ``activation`` argument and ``resdepth.function_space`` both use it)."""

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}
