"""TorchCanvas: build, train and export PyTorch networks visually."""

__version__ = "0.1.0"
