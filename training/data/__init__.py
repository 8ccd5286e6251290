"""Data sets for training and evaluation. Images are float32 NCHW tensors in [-1, 1]."""
