"""The only package that imports torch: networks, trainer, devices, checkpoints."""
