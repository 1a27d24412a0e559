"""Networks: pix2pix (U-Net + PatchGAN), pix2pixHD (global generator, local enhancer, multiscale
discriminators), Everybody Dance Now's face residual GAN. One place builds them from a config."""
