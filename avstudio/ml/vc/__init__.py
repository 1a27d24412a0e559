"""Voice conversion: CycleGAN-VC2 (Kaneko et al. 2019) on WORLD MCEPs."""
