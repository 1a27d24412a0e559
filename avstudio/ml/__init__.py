"""Models: nets, datasets, training loops, inference, checkpoints (safetensors), metrics.
Qt-free. (Motion transfer: issue 4; voice conversion: issue 6.)"""
