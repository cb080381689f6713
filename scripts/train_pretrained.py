"""Train, measure and ship the models in pretrained/, each from its recorded `ganstudio train` recipe.

    python scripts/train_pretrained.py list
    python scripts/train_pretrained.py train NAME [--runs /work/runs/pretrained]   # run the recipe
    python scripts/train_pretrained.py ship NAME  [--runs ...] [--ckpt FILE]       # eval, convert, grid, manifest
    python scripts/train_pretrained.py all NAME   [--runs ...]                     # train, then ship
    python scripts/train_pretrained.py set-default NAME
    python scripts/train_pretrained.py docs                                          # docs/MODELS.md
    python scripts/train_pretrained.py readme-table                                  # the README's table
    python scripts/train_pretrained.py reference         # real data's figures (train vs test) into the manifest
    python scripts/train_pretrained.py compare NAME --runs OTHER_RUNS   # a retrained run vs the shipped file

``train`` runs exactly the command recorded in the manifest (``command``, with RUN_DIR standing
for the run folder) on the CPU with one thread, and stores the wall time in RUN_DIR/recipe.json.
``ship`` loads the final checkpoint, keeps G only (fp16, class names, training metadata),
evaluates it (FCD etc. with the Fashion-MNIST classifier for Fashion-MNIST models; a pixel
Fréchet distance for the shapes models), evaluates the same config untrained (the step-0
weights: the loop seeds torch with the recipe's seed before building the models), records a
small fixed-seed "check" metric that tests/test_pretrained.py reproduces, renders the sample
grid with `ganstudio sample` and updates pretrained/manifest.json.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PRETRAINED = ROOT / "pretrained"
MANIFEST = PRETRAINED / "manifest.json"
DOCS_MODELS = ROOT / "docs" / "models"
DEFAULT_RUNS = Path(os.environ.get("GANSTUDIO_RUNS", "/work/runs/pretrained"))
MAX_BYTES = 8 * 1024 * 1024

# The check metric the test reproduces: FCD (or pixel FD for shapes) on a small fixed-seed sample.
CHECK_N = 500
CHECK_SEED = 0
CHECK_RTOL = 0.02
EVAL_N = 5000  # samples for the reported metrics
SHAPES_REAL_N = 2000  # real shapes images for the pixel Fréchet distance
SHAPES_EVAL_N = 2000  # generated images for the shapes models' pixel Fréchet distance
# Emoji models: generated images for FD / precision / recall in the emoji group classifier's features.  The
# classifier's statistics and precision/recall features are of the 3290 glyphs of the emoji train split, so
# the same count is generated; the real-data reference (the 365 test glyphs against the train split) is at
# n 365, so each emoji model is measured at n 365 too (``at_reference_n``).
EMOJI_EVAL_N = 3290
EMOJI_REFERENCE_N = 365
EMOJI_LICENSE_NOTE = "the training images are rendered from it"  # after training/emoji.py's LICENSE

FMNIST = dict(data="fashion-mnist", resolution=32, channels=1)
SHAPES = dict(data="shapes-upright", resolution=32, channels=3)
EMOJI = dict(data="emoji", resolution=64, channels=3)

PAPERS = {
    "mlp-gan": "Goodfellow et al. 2014, Generative Adversarial Nets",
    "dcgan": "Radford et al. 2016, Unsupervised Representation Learning with Deep Convolutional GANs",
    "wgan-gp": "Gulrajani et al. 2017, Improved Training of Wasserstein GANs",
    "cgan": "Mirza & Osindero 2014, Conditional Generative Adversarial Nets",
    "acgan": "Odena et al. 2017, Conditional Image Synthesis with Auxiliary Classifier GANs",
    "sngan-projection": "Miyato & Koyama 2018, cGANs with Projection Discriminator (SN-GAN: Miyato et al. 2018)",
    "sagan": "Zhang et al. 2019, Self-Attention Generative Adversarial Networks",
    "biggan": "Brock et al. 2019, Large Scale GAN Training for High Fidelity Natural Image Synthesis",
    "progan": "Karras et al. 2018, Progressive Growing of GANs for Improved Quality, Stability, and Variation",
    "vae": "Kingma & Welling 2014, Auto-Encoding Variational Bayes",
    "stylegan2": "Karras et al. 2020, Analyzing and Improving the Image Quality of StyleGAN",
    "infogan": "Chen et al. 2016, InfoGAN: Interpretable Representation Learning by Information Maximizing GANs",
    "ebgan": "Zhao, Mathieu & LeCun 2017, Energy-based Generative Adversarial Network",
    "began": "Berthelot, Schumm & Metz 2017, BEGAN: Boundary Equilibrium Generative Adversarial Networks",
    "aae": "Makhzani et al. 2016, Adversarial Autoencoders",
    "vqvae": "van den Oord et al. 2017, Neural Discrete Representation Learning (prior: van den Oord et al. 2016, "
             "Conditional Image Generation with PixelCNN Decoders)",
}

# The CPU-sized StyleGAN2 both StyleGAN2 recipes use: narrow (64 channels at 4-16 px, 32 at 32 px),
# a 2-layer mapping, R1 gamma between StyleGAN2-ADA's CIFAR value (0.01) and the preset's 1.
STYLEGAN2_SMALL = ("--set r1=0.1 --set model.z_dim=64 --set model.w_dim=64 --set model.mapping_layers=2 "
                   "--set model.channel_base=1024 --set model.channel_max=64")

FMNIST_BEGAN_NOTES = (
    "Footwear only: sneakers and ankle boots, some sandals, sharp and shaded (laces, soles, seams), on a clean "
    "black background; no tops, trousers, dresses or bags.  BEGAN's mode collapse: the four runs that got past "
    "blobs (gamma 0.5 / 0.7 / 0.9, n 16 / 32, lambda_k 0.001 / 0.01) all converged on footwear, although D's autoencoder "
    "reconstructs every class about equally well (L1 0.10-0.14 per class on the test set at step 4500).  The "
    "convergence measure M_global fell from 0.22 to 0.12 and k_t settled at ~0.10.")
FMNIST_INFOGAN_NOTES = (
    "Recognisable garments of every class with variety in shape and shade (FCD 10.4, recall 0.58; issue 22's "
    "retrain).  The category code (docs/models/fmnist-infogan_codes.png, one row per category) mostly picks a "
    "class: 2 trousers, 4 T-shirts, 5 sneakers, 9 dresses, 0 and 7 bags; 1 and 6 both give pullovers and coats, "
    "3 mixes heeled sandals and ankle boots, 8 low sneakers and sandals; shirts have no category of their own.  "
    "Both continuous codes mostly move brightness (white to dark from -2 to 2) and with it sometimes the garment "
    "(a sandal darkens into a boot): not one factor each.")

# name -> recipe.  "args" are the `ganstudio train` arguments after --out; everything else is
# manifest information.  Widths are scaled down so that each trains in minutes on one CPU thread.
RECIPES: dict[str, dict] = {
    "fmnist-dcgan": dict(
        family="DCGAN", model="dcgan", paper=PAPERS["dcgan"], **FMNIST,
        # 1200 steps (FCD 193) looked weak; 2800 steps (3 epochs, 11 min on one quiet thread): FCD 56.
        args="--preset dcgan --data fashion-mnist --steps 2800 --batch 64 --seed 0 "
             "--set model.ngf=32 --set model.ndf=32"),
    "fmnist-cgan": dict(
        family="Conditional GAN", model="cgan", paper=PAPERS["cgan"], **FMNIST,
        # Issue 22 (recall and class accuracy): the same recipe trained five times longer.  At 1200 steps (the
        # previous shipped file) FCD 156.6, recall 0.12, class accuracy 0.68; on today's code the same run
        # measured at 1500 / 3000 / 4000 / 5000 / 6000 steps: FCD 105 / 52 / 36 / 18 / 14.8, recall 0.21 / 0.45 /
        # 0.58 / 0.61 / 0.67, class accuracy 0.76 / 0.81 / 0.83 / 0.85 / 0.85 (n 5000).  34 min on one thread.
        args="--preset cgan --data fashion-mnist --steps 6000 --batch 64 --seed 0 "
             "--set model.ngf=32 --set model.ndf=32",
        notes="Every class row is recognisable (class accuracy 0.85), with varied shapes and prints within a "
              "class (recall 0.67); the lowest FCD of the shipped models (14.8) and the only shipped GAN that passes "
              "both of issue 22's checks (recall >= 0.3, class accuracy >= 0.85), so the app opens on it."),
    "fmnist-acgan": dict(
        family="AC-GAN", model="acgan", paper=PAPERS["acgan"], **FMNIST,
        # Tries: ndf 16 with the paper's D dropout 0.5, 700 steps: D stayed near chance and G collapsed
        # within each class (FCD 550); ndf 16 without dropout, 800 steps: sharp but the classes came out
        # permuted (class accuracy 0.19: D's class head told fakes' classes apart from fake-only
        # features).  (ndf 32 with dropout 0.5 ran at a quarter of the speed: stopped.)  Half the
        # paper's dropout: D strong enough to teach G, still regularized on its class head.
        # Issue 22: rerun on the code of 2026-12-08 it no longer reproduced the file shipped from the code of
        # 2026-11-25 (3 of 22 tensors identical, fp16 weights up to 1.64 apart, check FCD 210.3 against 254.9);
        # the rerun is shipped (FCD 253.9 -> 207.4, recall 0.014 -> 0.009, class accuracy 0.49 -> 0.46).
        args="--preset acgan --data fashion-mnist --steps 1000 --batch 64 --seed 0 "
             "--set model.ngf=32 --set model.ndf=16 --set model.d_dropout=0.25",
        notes="Short CPU training: the classes are only partly separated (class accuracy 0.46): T-shirt, "
              "trouser, dress, coat, sandal, shirt and sneaker rows are right (sandal and shirt faint), but "
              "class 2 (pullover) renders boots, 8 (bag) pullovers and 9 (ankle boot) dark bag-like shapes; "
              "almost no variety within a class (recall 0.01, the usual AC-GAN failing)."),
    "fmnist-vae": dict(
        family="VAE", model="vae", paper=PAPERS["vae"], **FMNIST,
        args="--preset vae --data fashion-mnist --steps 4000 --batch 128 --seed 0 "
             "--set model.z_dim=16 --set model.hidden=[512]"),
    "fmnist-mlp-gan": dict(
        family="MLP GAN", model="mlp-gan", paper=PAPERS["mlp-gan"], **FMNIST,
        # Issue 22: 5000 steps left salt-and-pepper speckle on every sample (FCD 311, recall 0.002); 30000
        # steps without EMA still speckled (10000: FCD 255, recall 0.008).  An EMA of G's weights (0.999, as in
        # ProGAN / BigGAN) averages the speckle out: recall 0.08 / 0.15 / 0.18 / 0.18 / 0.16 at 10k / 15k / 20k /
        # 35k / 40k steps, FCD 154 -> 111.  Run as --steps 20000, resumed to 40000 (bit-exact); the step-35000
        # checkpoint is shipped, which is what --steps 35000 trains (nothing in the loop reads the total).
        args="--preset mlp-gan --data fashion-mnist --resolution 32 --steps 35000 --batch 64 --seed 0 --ema 0.999 "
             "--set model.g_hidden=[256,512] --set model.d_hidden=[512,256]",
        notes="Every class appears (tops, trousers, dresses, sneakers, boots, sandals, bags); many tops and coats "
              "carry a grainy texture.  Recall 0.18 stays below the 0.3 asked for in issue 22 (it levelled off "
              "from step 20000 to 40000)."),
    "fmnist-wgan-gp": dict(
        family="WGAN-GP", model="dcgan", paper=PAPERS["wgan-gp"], **FMNIST,
        # 400 steps left grey, textureless boxes (FCD 1050): WGAN-GP needs many more G steps.  Issue 22: the
        # same recipe 1.5x longer on two threads (run as --steps 3000, stopped at the session's end; the
        # step-1500 checkpoint is shipped, which is what --steps 1500 trains): at 1000 / 1500 steps FCD 171 / 86.7,
        # recall 0.25 / 0.42 (the previous file, 1000 steps on older code: FCD 184.0, recall 0.22).
        args="--preset wgan-gp --data fashion-mnist --steps 1500 --batch 64 --seed 0 --lr-g 2e-4 --lr-d 2e-4 "
             "--set model.ngf=32 --set model.ndf=16"),
    "fmnist-sngan-projection": dict(
        family="SN-GAN (projection)", model="sngan-projection", paper=PAPERS["sngan-projection"], **FMNIST,
        # Two D steps per G step (the paper: 5) and narrow ResNets (32 channels) to fit a CPU thread.
        args="--preset sngan-projection --data fashion-mnist --steps 3000 --batch 64 --seed 0 --k-disc 2 "
             "--set model.g_ch=32 --set model.d_ch=32 --set model.d_extra_blocks=0",
        notes="Every class row is recognisable (class accuracy 0.80); little variety in pose within a class "
              "(recall 0.08) and a faint speck in the top-left corner of some samples."),
    "fmnist-biggan": dict(
        family="BigGAN", model="biggan", paper=PAPERS["biggan"], **FMNIST,
        args="--preset biggan --data fashion-mnist --steps 3000 --batch 64 --seed 0 --k-disc 1 "
             "--lr-g 2e-4 --lr-d 2e-4 --ema 0.99 "
             "--set model.g_ch=8 --set model.d_ch=8 --set model.shared_dim=32 --set model.z_dim=64",
        # A 400-step try (7.5 min) had not yet learned its classes (class accuracy 0.10): 3000 steps did.
        notes="Every class row is right (class accuracy 0.90); within a class the pose varies little (recall "
              "0.16).  It was the default model until fmnist-cgan's retrain (issue 22) passed both quality checks."),
    "fmnist-progan": dict(
        family="Progressive GAN", model="progan", paper=PAPERS["progan"], **FMNIST,
        # 10 kimg per fade-in and per stable phase: 32 px is reached after 70 kimg, then 58 kimg at 32 px.
        args="--preset progan --data fashion-mnist --steps 4000 --batch 32 --seed 0 --ema 0.99 "
             "--set phase_kimg=10 --set model.z_dim=128 --set model.channel_base=1024 "
             "--set model.channel_max=64",
        notes='Recognisable garments, trousers, bags and shoes, with blotchy texture on some samples (sandals and sneakers worst); every stage (4-32 px) is kept and renders in the Stages panel.'),
    "fmnist-stylegan2": dict(
        family="StyleGAN2", model="stylegan2", paper=PAPERS["stylegan2"], **FMNIST,
        args="--preset stylegan2 --data fashion-mnist --steps 6000 --batch 32 --seed 0 --ema 0.99 "
             + STYLEGAN2_SMALL,
        check_n=200,
        notes='Every Fashion-MNIST category appears; among the sharpest of the shipped models (FCD 53.3, next to the DCGAN at 52.7).  Trained with style-mixing regularization (0.9), so the style-mixing, noise and psi panels have a trained model to work on.'),
    "shapes-stylegan2": dict(
        family="StyleGAN2", model="stylegan2", paper=PAPERS["stylegan2"], **SHAPES,
        # On the rotated, smaller `shapes` variant four runs (up to 57 kimg, R1 gamma 1 and 0.01) drew
        # coloured blobs; the upright variant, the Fashion-MNIST recipe's R1 gamma, longer.  Run as 7000
        # steps (still blobs at 7000), then `ganstudio train --resume RUN --steps 13000` (resume is bit-exact).
        args="--preset stylegan2 --data shapes-upright --channels 3 --steps 13000 --batch 32 --seed 0 --ema 0.99 "
             + STYLEGAN2_SMALL,
        check_n=200,  # the slowest generator on the CPU: a smaller check sample keeps the test short
        notes="Squares, circles, triangles and hearts, some misshapen; the style-mixing, noise and psi panels have a trained colour model to work on."),
    "shapes-dcgan": dict(
        family="DCGAN", model="dcgan", paper=PAPERS["dcgan"], **SHAPES,
        # On the rotated, smaller `shapes` variant runs of up to 256 kimg (ngf 32, also ngf 64 with and
        # without R1) drew blobs; on the upright variant squares, circles and triangles appeared by 112 kimg.
        args="--preset dcgan --data shapes-upright --channels 3 --steps 5000 --batch 64 --seed 0 "
             "--set model.ngf=64 --set model.ndf=64 --set model.z_dim=64",
        notes='Squares, circles, triangles and hearts in the right colours, sizes and places; some samples fall between two shapes (a rounded square, a heart-like circle).  The pixel FD barely tells blobs from shapes (the blob runs on the rotated variant scored 2.16): judge by the grid.'),
    "fmnist-infogan": dict(
        family="InfoGAN", model="infogan", paper=PAPERS["infogan"], **FMNIST,
        # The paper's MNIST codes (one 10-way categorical, two continuous).
        # Issue 22: that file (1200 steps, batch 32, ngf/ndf 16) had FCD 157.6 and recall 0.05.  Retrained at
        # fmnist-dcgan's widths and batch (ngf/ndf 32, batch 64), longer: recall 0.18 / 0.41 / 0.50 / 0.58 at
        # steps 2000 / 3000 / 3500 / 5000, FCD 78 -> 10.4 (11 min on one thread).
        args="--preset infogan --data fashion-mnist --steps 5000 --batch 64 --seed 0 "
             "--set model.ngf=32 --set model.ndf=32",
        notes=FMNIST_INFOGAN_NOTES),
    "shapes-infogan": dict(
        family="InfoGAN", model="infogan", paper=PAPERS["infogan"], **SHAPES,
        # A 4-way categorical code for the four shapes and five continuous codes for the five other factors
        # shapes-upright varies (object hue, background hue, scale, x, y), 55 noise dims: 64 inputs, so G is
        # shapes-dcgan's generator, which it starts from (init_g; D and Q start untrained).  Trained from
        # scratch it drew grey checkerboard noise: ngf/ndf 16, batch 32, lr_g 1e-3 / lr_d 2e-4, 1253 steps
        # (25 min); ngf/ndf 32, batch 64; ngf/ndf 64, batch 64, lr 2e-4, at 0.26 steps/s, stopped at step 40
        # (shapes-dcgan needed 5000 such steps).  Run as --steps 5000 with --sample-every 50 --ckpt-every 50
        # --keep 30 --log-every 10 (logging only) and stopped at the deadline; the step-550 checkpoint is
        # shipped, which is what --steps 550 trains (nothing in this preset's loop reads the total).
        args="--preset infogan --data shapes-upright --channels 3 --steps 550 --batch 32 --seed 0 "
             "--lr-g 2e-4 --lr-d 2e-4 --set model.ngf=64 --set model.ndf=64 --set model.z_dim=55 "
             "--set model.info_cat=4 --set model.info_cont=5 --set info_cont_weight=0.2 "
             "--set init_g=pretrained/shapes-dcgan.safetensors",
        notes="Fine-tuned from shapes-dcgan's generator for 550 steps (13 min on one CPU thread), D and Q from scratch: coloured objects in the right colours and places, but most are blobs; some hearts, triangles and squares are recognisable (shapes-dcgan draws them far more clearly), and a faint dotted grid lies over many images.  The codes are only partly learned (docs/models/shapes-infogan_codes.png): the 4-way category barely changes the object (slightly the outline on some seeds); continuous codes 3, 4 and 5 move the object's hue (yellow to magenta, magenta to orange); codes 1 and 2 change little.  No code moves one factor alone: `ganstudio analyze shapes-infogan --directions info` scores 0.20 overall."),
    "fmnist-vqvae": dict(
        family="VQ-VAE", model="vqvae", paper=PAPERS["vqvae"], **FMNIST,
        # The preset's 8x8 grid of 64 codes and 4-layer prior; stage 1 for 1000 steps (perplexity ~45 of 64
        # codes, test PSNR 21.8 dB at step 1000), then 750 prior steps.  Trained as a run started with the
        # preset's vq_steps=2500 and cut to vq_steps=1000 (config.json) when resumed from its step-1000
        # checkpoint: every step before vq_steps is the same whatever its value, so it equals this command.
        # ~1.2 s per prior step on the shared 2-core machine (load 18) decided the length.
        args="--preset vqvae --data fashion-mnist --steps 1750 --batch 64 --seed 0 --set vq_steps=1000",
        notes="Samples from the gated PixelCNN prior (4 layers of 32 channels, 750 steps): shirts, pullovers, "
              "trousers, shoes and bags recognisable by their outline, blurred, some fragmented or between two "
              "classes. Test reconstructions keep shape and shading and lose fine texture (prints, stripes): "
              "docs/models/fmnist-vqvae_recon.png."),
    "fmnist-ebgan": dict(
        family="EBGAN", model="ebgan", paper=PAPERS["ebgan"], **FMNIST,
        # fmnist-dcgan's G width, D's autoencoder at n 16 with a 32-d bottleneck, batch 32; 2100 steps were what
        # 20 minutes gave (the machine's load fell from ~18 to ~9 during the run).  Two earlier runs without the
        # bottleneck (and one with a tanh on D's decoder) drew black, then a single checkerboard.
        # Issue 22: that file (2100 steps, no EMA) drew grainy, checkered tops with almost no variety (FCD 311.7,
        # recall 0.001).  The same recipe with an EMA of G (0.999) and longer (0.06 s a step on a quiet core):
        # recall 0.10 / 0.24 / 0.30 / 0.37 / 0.46 / 0.54 at steps 5000 / 8000 / 10000 / 14000 / 16000 / 20000, FCD
        # 153 -> 41.0.  Run as --steps 12000, resumed to 20000 (bit-exact).
        args="--preset ebgan --data fashion-mnist --steps 20000 --batch 32 --seed 0 --ema 0.999 "
             "--set model.ngf=32 --set model.n=16",
        notes="Every class, smooth and varied (FCD 41.0, recall 0.54): T-shirts, pullovers, dresses, trousers, "
              "sneakers, boots, sandals and bags; some tops carry a checkered or printed-looking texture and a few "
              "samples (about 1 in 30) are fragmented."),
    "fmnist-began": dict(
        family="BEGAN", model="began", paper=PAPERS["began"], **FMNIST,
        # n 16, h = z = 64, the paper's batch 16 and lr 1e-4.  gamma 0.9 and lambda_k 0.01: with the paper's
        # lambda_k 0.001, k_t moved ~1e-5 a step and stayed near 0 for thousands of steps (D barely pushed the
        # fakes up) while G collapsed; at 0.01 it reaches its equilibrium (L(G(z)) / L(x) ~ gamma, k_t ~0.1) within
        # ~1000 steps.  Four runs (gamma 0.5 / 0.7 / 0.9, n 16 / 32, lambda_k 0.001 / 0.01) converged on footwear, two
        # were stopped at blobs or black (step 800-1000); this one drew the sharpest.  Run as --steps 20000 with --sample-every 500 --ckpt-every 250 --keep 40
        # (logging only) and stopped; the step-9000 checkpoint is shipped (34 min), which is what --steps 9000 trains.
        args="--preset began --data fashion-mnist --steps 9000 --batch 16 --seed 0 "
             "--set model.n=16 --set model.h_dim=64 --set model.z_dim=64 --set began_gamma=0.9 --set lambda_k=0.01",
        notes=FMNIST_BEGAN_NOTES),
    "fmnist-aae": dict(
        family="Adversarial autoencoder", model="aae", paper=PAPERS["aae"], **FMNIST,
        # A 2-D code (the paper's visualizations), so the latent map is the code itself.  Hidden layers of
        # 512, not the paper's 1000: the 2-core machine ran at a load of ~18 and this took 15 min.
        args="--preset aae --data fashion-mnist --steps 500 --batch 100 --seed 0 "
             "--set model.hidden=[512,512] --set model.d_hidden=[512,512]",
        notes="A 2-D code: decoding the prior gives blurry but recognisable garments, trousers, bags and shoes "
              "(an autoencoder's mean-squared reconstruction blurs); open the Latent map panel to see the test set "
              "arranged by class in the code and decode any point of it.  Ran with --ckpt-every 50 "
              "--sample-every 100 (logging only: the same weights)."),
    # Issue 22: the 64 px colour models, on every glyph of Noto Color Emoji (3290 train glyphs, 9 Unicode
    # groups), with DiffAugment (colour, translation, cutout).  Each ran on one thread of the 2-core machine
    # beside the other, as resumable runs (bit-exact resume on the CPU), within 3 h of wall time.
    "emoji-stylegan2": dict(
        family="StyleGAN2", model="stylegan2", paper=PAPERS["stylegan2"], **EMOJI,
        # Narrow (channel_max 32: 0.24 MB shipped at fp16, 17-20 img/s on one thread): 198 kimg in 3 h;
        # R1 0.1 as the paper's small-resolution configs, a 2-layer mapping network.
        args="--preset stylegan2 --data emoji --resolution 64 --channels 3 --steps 6176 --batch 32 --seed 0 "
             "--ema 0.99 --augment diffaugment --set r1=0.1 --set model.z_dim=64 --set model.w_dim=64 "
             "--set model.mapping_layers=2 --set model.channel_base=1024 --set model.channel_max=32",
        notes="No recognisable emoji: glossy, shaded colour shapes with dark outlines and white highlights on the "
              "white background (the glyphs' rendering style), in the glyphs' colours: round yellow face-coloured "
              "shapes, skin-toned upright figure-like shapes, blue water-like and purple forms.  FD 44.7 in the "
              "emoji group classifier's features (untrained 509.9; the real test glyphs 1.61), precision 0.63, "
              "recall 0.38.  180 min on one thread reached 198 kimg; the paper's configurations train for thousands"
              " of kimg."),
    "emoji-biggan": dict(
        family="BigGAN", model="biggan", paper=PAPERS["biggan"], **EMOJI,
        # Class-conditional on the 9 Unicode groups.  g_ch / d_ch 16 trained at 4.7 img/s on one thread (about
        # 1600 steps of 32 in 3 h), so widths of 8: 14.7 img/s.  z 80 = 5 chunks of 16 (input + 4 blocks at 64 px).
        args="--preset biggan --data emoji --resolution 64 --channels 3 --steps 3681 --batch 32 --seed 0 "
             "--k-disc 1 --lr-g 2e-4 --lr-d 2e-4 --ema 0.99 --augment diffaugment "
             "--set model.g_ch=8 --set model.d_ch=8 --set model.shared_dim=32 --set model.z_dim=80",
        notes="No recognisable emoji; the groups show as colour and outline: Smileys & Emotion as round yellow "
              "shapes, People & Body as dark and skin-toned shapes, Symbols as orange tiles with white marks, Flags"
              " as wide horizontal bands of red, green, white and blue; Animals, Food, Travel, Activities and "
              "Objects share red, orange and green blotches that differ little between these groups.  A dotted grid"
              " texture covers most samples.  Class accuracy 0.45 (the classifier's own on the real test glyphs: "
              "0.80), FD 159.0 in the emoji group classifier's features (untrained 1263), precision 0.83, recall "
              "0.28.  3681 steps of 32 (118 kimg) in 129 min on one thread."),
}

# Recipes that ran but whose samples were not recognisably of their data, so nothing was shipped.
NOT_SHIPPED: dict = {}


def command_for(name: str, run_dir: str = "RUN_DIR") -> str:
    r = RECIPES[name]
    common = "--device cpu --sample-every 200 --ckpt-every 200 --keep 3 --log-every 20 --quiet"
    return f"ganstudio train --out {run_dir} {r['args']} {common}"


def run_dir_of(name: str, runs: Path) -> Path:
    return runs / name


# -- train ---------------------------------------------------------------------------------------

def train(name: str, runs: Path) -> Path:
    run = run_dir_of(name, runs)
    cmd = command_for(name, str(run))
    argv = [sys.executable, "-m", "ganstudio.cli"] + shlex.split(cmd)[1:]
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    print(f"[{name}] {cmd}", flush=True)
    t0 = time.time()
    rc = subprocess.call(argv, cwd=ROOT, env=env)
    wall = time.time() - t0
    if rc != 0:
        raise SystemExit(f"[{name}] training failed with status {rc} after {wall:.0f} s")
    info = {"name": name, "command": command_for(name), "wall_time_s": round(wall, 1),
            "threads": int(env["OMP_NUM_THREADS"]), "finished": time.time()}
    (run / "recipe.json").write_text(json.dumps(info, indent=2))
    print(f"[{name}] trained in {wall:.0f} s", flush=True)
    return run


# -- metrics -------------------------------------------------------------------------------------

def _real_shapes(n: int, data: str = "shapes"):
    import torch

    from ganstudio.training.data import make_dataset
    ds = make_dataset(data, 32, 3, split="test") if _accepts_split() else make_dataset(data, 32, 3)
    loader = torch.utils.data.DataLoader(ds, batch_size=500, shuffle=False)
    imgs = []
    for batch in loader:
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        imgs.append(x.float())
        if sum(len(i) for i in imgs) >= n:
            break
    return torch.cat(imgs)[:n]


def _accepts_split() -> bool:
    import inspect

    from ganstudio.training.data import make_dataset
    return "split" in inspect.signature(make_dataset).parameters


def _pixel_features(x):
    import torch.nn.functional as F
    return F.adaptive_avg_pool2d(x.float(), 8).flatten(1)


_SHAPES_STATS = {}


def pixel_fd(G, n: int, seed: int = 0, batch: int = 250, data: str = "shapes") -> float:
    """Fréchet distance of 8x8 average-pooled RGB pixels (192-d) between G's samples and real shapes."""
    import torch

    from ganstudio.training import metrics
    if data not in _SHAPES_STATS:
        _SHAPES_STATS[data] = metrics.feature_stats(_pixel_features(_real_shapes(SHAPES_REAL_N, data)))
    gen = torch.Generator().manual_seed(seed)
    feats = []
    with torch.no_grad():
        for i in range(0, n, batch):
            m = min(batch, n - i)
            z = metrics.prior_z(torch.randn(m, G.z_dim, generator=gen), G)  # InfoGAN: codes from their priors
            feats.append(_pixel_features(G(z, None)))
    mu, sigma = metrics.feature_stats(torch.cat(feats))
    return metrics.frechet_distance(mu, sigma, *_SHAPES_STATS[data])


def emoji_license() -> str:
    from ganstudio.training.emoji import LICENSE
    return LICENSE


def uses_classifier(data: str) -> bool:
    """Whether a model of this data is measured in a classifier's features (FCD) rather than pixel FD."""
    from ganstudio.training.emoji import is_emoji_spec
    return data == "fashion-mnist" or is_emoji_spec(data)


def eval_n_for(data: str) -> int:
    from ganstudio.training.emoji import is_emoji_spec
    return EVAL_N if data == "fashion-mnist" else EMOJI_EVAL_N if is_emoji_spec(data) else SHAPES_EVAL_N


def evaluate(G, fmnist, class_names, n: int, seed: int = 0) -> dict:
    """``fmnist``: True, or the data spec ("fashion-mnist", "emoji", "shapes-upright", ...); False means "shapes".

    Fashion-MNIST models are measured with the Fashion-MNIST classifier, emoji models with the emoji group
    classifier (both: "fcd"); the shapes models with pixel FD."""
    import torch
    data = fmnist if isinstance(fmnist, str) else ("fashion-mnist" if fmnist else "shapes")
    fmnist = uses_classifier(data)

    from ganstudio.training import metrics
    from ganstudio.training.emoji import is_emoji_spec
    G.eval()
    with torch.no_grad():
        if fmnist:
            clf = None
            if is_emoji_spec(data):
                from ganstudio.training.classifier import EMOJI_PATH as clf
            r = metrics.evaluate_generator(G, n=n, batch=250 if G.img_resolution <= 32 else 100, seed=seed,
                                           class_names=class_names, classifier_path=clf)
            out = {"fcd": r["fcd"], "is": r["is"], "precision": r["precision"], "recall": r["recall"]}
            if r.get("class_accuracy") is not None:
                out["class_accuracy"] = r["class_accuracy"]
            return out
        return {"pixel_fd": pixel_fd(G, n, seed, data=data)}


def untrained_generator(meta: dict):
    """The step-0 generator of the recipe: the loop seeds torch with cfg.seed, then builds G and D."""
    import torch

    from ganstudio.training.loop import build_models
    from ganstudio.training.presets import TrainConfig
    cfg = TrainConfig.from_dict(meta["training"]["config"])
    torch.manual_seed(cfg.seed)
    G, _ = build_models(cfg, len(meta.get("class_names") or []))
    if "stage" in meta["training"] and hasattr(G, "set_stage"):
        G.set_stage(int(meta["training"]["stage"]), float(meta["training"]["alpha"]))
    return G.eval()


# -- ship ----------------------------------------------------------------------------------------

def final_checkpoint(run: Path) -> Path:
    ckpts = sorted((run / "checkpoints").glob("ckpt_*.safetensors"))
    if not ckpts:
        raise SystemExit(f"no checkpoints in {run}/checkpoints")
    return ckpts[-1]


def render_grid(name: str, shipped: Path, G, class_names) -> Path:
    """docs/models/<name>.png with `ganstudio sample`: one row per class for conditional models."""
    import numpy as np

    from ganstudio.cli import main as cli
    from ganstudio.imaging import make_grid, save_png
    DOCS_MODELS.mkdir(parents=True, exist_ok=True)
    out = DOCS_MODELS / f"{name}.png"
    scale = 2 if G.img_resolution <= 32 else 1  # 64 px models are shown at their own size
    if not G.c_dim:
        rc = cli(["sample", str(shipped), "--seeds", "0-63", "--cols", "8", "--scale", str(scale),
                  "--device", "cpu", "--out", str(out)])
        if rc:
            raise SystemExit(f"ganstudio sample failed ({rc})")
        return out
    tmp = DOCS_MODELS / f".{name}_rows"
    tmp.mkdir(exist_ok=True)
    rows = []
    for k in range(G.c_dim):
        npy = tmp / f"row{k}.npy"
        rc = cli(["sample", str(shipped), "--seeds", "0-9", "--class", str(k), "--device", "cpu",
                  "--npy", str(npy)])
        if rc:
            raise SystemExit(f"ganstudio sample --class {k} failed ({rc})")
        rows.append(np.load(npy))
        npy.unlink()
    tmp.rmdir()
    imgs = np.concatenate(rows)  # [C*10, ch, H, W] in [-1, 1], row k = class k
    u8 = ((np.clip(imgs, -1, 1) + 1) * 127.5).round().astype(np.uint8).transpose(0, 2, 3, 1)
    if u8.shape[-1] == 1:
        u8 = np.repeat(u8, 3, -1)
    u8 = np.repeat(np.repeat(u8, scale, 1), scale, 2)
    save_png(out, make_grid(u8, cols=10))
    return out


CODE_SEEDS = 8  # columns of the category block of an InfoGAN code grid
CODE_VALUES = (-2.0, -1.5, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0)  # columns of a continuous code's rows


def render_code_grid(name: str, shipped: Path) -> Path:
    """docs/models/<name>_codes.png for an InfoGAN: its codes set through the window's renderer.

    First one row per category (seeds 0-7 across, the category set on each); then, for each
    continuous code k, three rows (seeds 0, 1, 2) with code k at -2 ... 2 across (InfoGAN's figures).
    """
    import numpy as np

    from ganstudio.engine import Renderer, RenderState
    from ganstudio.engine.state import Edit
    from ganstudio.imaging import make_grid, save_png
    r = Renderer("cpu")
    info = r.load(str(shipped))
    cats, conts = info.code_sizes
    states = [RenderState(model=str(shipped), seed=s, edits=(Edit("code", 0, float(k)),))
              for k in range(cats) for s in range(CODE_SEEDS)]
    states += [RenderState(model=str(shipped), seed=s, edits=(Edit("code", k, v),))
               for k in range(1, conts + 1) for s in range(3) for v in CODE_VALUES]
    res = r.render_batch(states)
    if res.image is None:
        raise SystemExit(f"[{name}] code grid: {res.error}")
    u8 = res.image if res.image.shape[-1] == 3 else np.repeat(res.image, 3, -1)
    out = DOCS_MODELS / f"{name}_codes.png"
    save_png(out, np.repeat(np.repeat(make_grid(u8, cols=CODE_SEEDS), 2, 0), 2, 1))
    return out


def reconstruction(G, data: str) -> dict:
    """An autoencoder's reconstruction error on the whole test split of its data (ganstudio eval's figures)."""
    from ganstudio.training import metrics
    from ganstudio.training.data import make_dataset
    test = make_dataset(data, G.img_resolution, G.img_channels, split="test")
    return metrics.reconstruction_error(G, test, n=len(test))


def render_recon_grid(name: str, G, data: str, n: int = 16) -> Path:
    """docs/models/<name>_recon.png: the first ``n`` test images (odd rows) over their reconstructions (even rows)."""
    import numpy as np
    import torch

    from ganstudio.imaging import make_grid, save_png, to_uint8
    from ganstudio.training.data import make_dataset
    test = make_dataset(data, G.img_resolution, G.img_channels, split="test")
    real, _ = test.batch(torch.arange(n))
    with torch.no_grad():
        recon = G.reconstruct(real).float()
    rows = [x for i in range(0, n, 8) for x in (real[i:i + 8], recon[i:i + 8])]
    u8 = to_uint8(torch.cat(rows))
    u8 = u8 if u8.shape[-1] == 3 else np.repeat(u8, 3, -1)
    out = DOCS_MODELS / f"{name}_recon.png"
    save_png(out, np.repeat(np.repeat(make_grid(u8, cols=8), 2, 0), 2, 1))
    return out


def read_manifest() -> dict:
    if MANIFEST.is_file():
        return json.loads(MANIFEST.read_text())
    return {"format": "ganstudio-pretrained", "version": 1, "models": []}


def write_manifest(m: dict) -> None:
    from ganstudio._io import atomic_write_text
    atomic_write_text(MANIFEST, json.dumps(m, indent=2) + "\n")


def ship(name: str, runs: Path, ckpt: Path | None = None) -> dict:
    import torch

    from ganstudio.checkpoints import load_checkpoint, save_checkpoint
    torch.set_num_threads(1)
    r = RECIPES[name]
    run = run_dir_of(name, runs)
    recipe_info = json.loads((run / "recipe.json").read_text()) if (run / "recipe.json").is_file() else {}
    src = ckpt or final_checkpoint(run)
    ck = load_checkpoint(src)
    meta = ck.meta
    training = dict(meta.get("training") or {})
    fmnist = uses_classifier(r["data"])
    class_names = ck.class_names or None
    G = ck.G.float().eval()
    t0 = time.time()
    eval_n = eval_n_for(r["data"])
    full = evaluate(G, r["data"], class_names, eval_n)
    if r["data"] == "emoji":  # at the real-data reference's n as well (see EMOJI_REFERENCE_N)
        at_ref = evaluate(G, r["data"], class_names, EMOJI_REFERENCE_N)
        full["at_reference_n"] = {"n": EMOJI_REFERENCE_N, **{k: at_ref[k] for k in ("fcd", "precision", "recall")}}
    if hasattr(G, "reconstruct"):  # an autoencoder (VQ-VAE): how well it reproduces the test set too
        full.update(reconstruction(G, r["data"]))
    G0 = untrained_generator(meta)
    untrained = evaluate(G0, r["data"], class_names, eval_n)
    key = "fcd" if fmnist else "pixel_fd"
    metrics = dict(full)
    metrics[f"{key}_untrained"] = untrained[key]
    metrics["eval_n"] = eval_n
    if not fmnist:
        metrics["note"] = ("pixel_fd: Fréchet distance of 8x8 average-pooled RGB pixels against "
                           f"{SHAPES_REAL_N} real {r['data']} test images (the Fashion-MNIST classifier's FCD does not apply)")
    print(f"[{name}] metrics {json.dumps(metrics)} ({time.time() - t0:.0f} s)", flush=True)

    file = f"{name}.safetensors"
    shipped = PRETRAINED / file
    training.pop("time", None)
    training["source_checkpoint"] = src.name
    training["command"] = command_for(name)
    save_checkpoint(shipped, ck.G, class_names=class_names, training=training, metrics=metrics,
                    dtype=torch.float16)
    size = shipped.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"[{name}] {shipped} is {size / 2**20:.1f} MB, over the 8 MB limit")
    # The check metric is computed on the shipped (fp16) file, exactly as the test will.
    Gs = load_checkpoint(shipped).G.eval()
    check_n = r.get("check_n", CHECK_N)
    check_value = evaluate(Gs, r["data"], class_names, check_n, CHECK_SEED)[key]
    grid = render_grid(name, shipped, Gs, class_names)
    codes_grid = render_code_grid(name, shipped) if getattr(Gs, "info_cat", 0) or getattr(Gs, "info_cont", 0) else None
    recon_grid = render_recon_grid(name, Gs, r["data"]) if hasattr(Gs, "reconstruct") else None

    entry = {
        "name": name, "family": r["family"], "model": meta["model"], "file": file,
        "data": r["data"], "classes": list(class_names or []),
        "resolution": r["resolution"], "channels": r["channels"],
        "command": command_for(name), "steps": int(training.get("step", 0)),
        "batch": int(training.get("batch", 0)),
        "wall_time_s": recipe_info.get("wall_time_s"),
        "device": f"cpu, {recipe_info.get('threads', 1)} thread(s), 2-core VM shared with other jobs",
        "metrics": metrics,
        "check": {"metric": key, "n": check_n, "seed": CHECK_SEED, "value": check_value, "rtol": CHECK_RTOL},
        "paper": r["paper"], "grid": str(grid.relative_to(ROOT)), "size_bytes": size,
        **({"codes_grid": str(codes_grid.relative_to(ROOT))} if codes_grid else {}),
        **({"recon_grid": str(recon_grid.relative_to(ROOT))} if recon_grid else {}),
        **({"notes": r["notes"]} if r.get("notes") else {}),
        **({"license": f"{emoji_license()}: {EMOJI_LICENSE_NOTE}"} if r["data"] == "emoji" else {}),
        "default": False,
    }
    with _manifest_lock():
        _update_manifest(entry)
    print(f"[{name}] shipped {shipped} ({size / 2**20:.2f} MB), check {key}={check_value:.4f}, grid {grid}",
          flush=True)
    return entry


@contextlib.contextmanager
def _manifest_lock():
    # Two trainings may finish at once: serialize the manifest's read-modify-write.
    import fcntl
    import tempfile
    with open(Path(tempfile.gettempdir()) / "ganstudio-pretrained-manifest.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _update_manifest(entry: dict) -> None:
    name = entry["name"]
    m = read_manifest()
    models = [e for e in m.get("models", []) if e.get("name") != name]
    order = list(RECIPES)
    models.append(entry)
    models.sort(key=lambda e: order.index(e["name"]) if e["name"] in order else len(order))
    old_default = next((e["name"] for e in m.get("models", []) if e.get("default")), None)
    for e in models:
        e["default"] = e["name"] == old_default
    m["models"] = models
    m["classifier"] = classifier_entry()
    write_manifest(m)


def classifier_entry() -> dict | None:
    """The metric classifier, kept out of "models" (the app's readers take every model entry for a generator)."""
    from ganstudio.training.classifier import DEFAULT_PATH, load_classifier
    if not DEFAULT_PATH.is_file():
        return None
    clf = load_classifier(DEFAULT_PATH)
    return {"kind": "classifier", "file": DEFAULT_PATH.name, "data": "fashion-mnist",
            "classes": clf.class_names, "test_accuracy": clf.test_accuracy,
            "reference": dict(clf.meta.get("reference") or {}),
            "command": "python -m ganstudio.training.classifier --out pretrained/fmnist_classifier.safetensors",
            "note": "the Fashion-MNIST classifier whose features define FCD, the IS analogue, precision/recall "
                    "and class accuracy (trained by ganstudio.training.classifier)"}


def set_default(name: str) -> None:
    m = read_manifest()
    if not any(e["name"] == name for e in m["models"]):
        raise SystemExit(f"{name} is not in the manifest")
    for e in m["models"]:
        e["default"] = e["name"] == name
    write_manifest(m)


def compare(name: str, runs: Path) -> dict:
    """Retrained-from-the-recipe run vs the shipped file: weight differences (at fp16) and the check metric."""
    import torch

    from ganstudio.checkpoints import load_checkpoint
    torch.set_num_threads(1)
    entry = next(e for e in read_manifest()["models"] if e["name"] == name)
    shipped = load_checkpoint(PRETRAINED / entry["file"])
    ck = load_checkpoint(final_checkpoint(run_dir_of(name, runs)))
    a, b = shipped.G.state_dict(), ck.G.state_dict()
    diffs = {k: float((a[k].float() - b[k].to(torch.float16).float()).abs().max()) for k in a if a[k].numel()}
    chk = entry["check"]
    value = evaluate(ck.G.float().eval(), entry["data"], ck.class_names or None,
                     chk["n"], chk["seed"])[chk["metric"]]
    out = {"name": name, "tensors": len(diffs), "max_abs_weight_diff_fp16": max(diffs.values()),
           "identical_tensors": sum(v == 0 for v in diffs.values()), "check_metric": chk["metric"],
           "check_recorded": chk["value"], "check_retrained": value,
           "relative_difference": abs(value - chk["value"]) / chk["value"]}
    print(json.dumps(out, indent=2))
    return out


def _fmt(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def write_docs() -> Path:
    """docs/MODELS.md: the table of shipped models, generated from the manifest."""
    m = read_manifest()
    ref = (m.get("classifier") or {}).get("reference") or {}
    lines = [
        "# Shipped models",
        "",
        "Every model in `pretrained/` was trained by `ganstudio train` from the recipe recorded in",
        "`pretrained/manifest.json` (`command`; `RUN_DIR` is any new folder), on the CPU with one thread",
        "of a 2-core machine shared with other jobs, so the wall times are upper bounds.",
        "`python scripts/train_pretrained.py all NAME` reruns a recipe, evaluates the result, converts it",
        "(generator only, fp16) and updates the manifest; `tests/test_pretrained.py` loads every model and",
        "reproduces its recorded check metric.",
        "",
        "**FCD** is the Fréchet distance between features of our Fashion-MNIST classifier",
        "(`pretrained/fmnist_classifier.safetensors`) on 5,000 generated images (seed 0) and on the real",
        "Fashion-MNIST test set (FID's formula with our small classifier instead of Inception, so the numbers",
        "are not comparable with published FIDs; lower is better). **Untrained** is the same configuration",
        "at step 0 (the recipe's seed, before any training step). **Class acc.** is the share of",
        "class-conditional samples the classifier assigns to the class they were generated for.",
        f"**IS analogue** is exp(E KL(p(y|x) || p(y))) with the same classifier (real test images: "
        f"{ref.get('is_test', float('nan')):.2f}), and",
        "**precision / recall** are Kynkäänniemi et al.'s (k=3) in its feature space. For scale, 10,000 real",
        f"training images score FCD {ref.get('fcd_train10k_vs_test', float('nan')):.2f} against the test set.",
        "The shapes models are RGB and not Fashion-MNIST-like, so instead of FCD they report **pixel FD**:",
        "the Fréchet distance of 8x8 average-pooled RGB pixels against 2,000 real shapes images.",
        "The emoji models (64 px RGB) are measured the same way in the features of the emoji group classifier",
        "(`pretrained/emoji_classifier.safetensors`): 3,290 generated images against the 3,290 training glyphs;",
        "class acc. is against the 9 Unicode groups. The 365 real test glyphs score FD 1.61, precision 0.92,",
        "recall 0.94 against the training glyphs; the manifest also holds each emoji model's figures at n 365",
        "(`at_reference_n`).",
        "",
        "| model | family | data | steps (batch) | CPU wall time | FCD | FCD untrained | class acc. "
        "| IS analogue | precision / recall | size |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for e in m.get("models", []):
        mt = e["metrics"]
        if "fcd" in mt:
            fcd, fcd0 = _fmt(mt["fcd"]), _fmt(mt["fcd_untrained"])
        else:
            fcd, fcd0 = f"pixel FD {_fmt(mt['pixel_fd'], 3)}", f"pixel FD {_fmt(mt['pixel_fd_untrained'], 3)}"
        acc = _fmt(mt.get("class_accuracy"), 3) if e["classes"] else "–"
        pr = f"{mt['precision']:.2f} / {mt['recall']:.2f}" if "precision" in mt else "–"
        wall = e.get("wall_time_s") or 0
        name = f"**{e['name']}** (default)" if e.get("default") else e["name"]
        lines.append(f"| {name} | {e['family']} | {e['data']} | {e['steps']} ({e.get('batch', '?')}) | "
                     f"{wall / 60:.1f} min | {fcd} | {fcd0} | {acc} | {_fmt(mt.get('is'))} | {pr} | "
                     f"{e['size_bytes'] / 2**20:.2f} MB |")
    lines += ["", "## Recipes and samples", ""]
    for e in m.get("models", []):
        rows = "one row per class, seeds 0-9" if e["classes"] else "seeds 0-63"
        lines += [f"### {e['name']}", "", f"{e['family']} ({e['paper']}), `{e['model']}` in the registry, "
                  f"{e['resolution']} px, {'grey' if e['channels'] == 1 else 'RGB'}"
                  + (f", classes: {', '.join(e['classes'])}" if e["classes"] else "") + ".", "",
                  "```", e["command"], "```", ""] + ([f"*Note:* {e['notes']}", ""] if e.get("notes") else []) + [
                  f"![{e['name']} samples]({Path(e['grid']).relative_to('docs')})  ", f"*{rows}*", ""]
        if e.get("recon_grid"):
            mt = e["metrics"]
            lines += [f"![{e['name']} reconstructions]({Path(e['recon_grid']).relative_to('docs')})  ",
                      f"*test images (rows 1, 3) over their reconstructions (rows 2, 4): MSE {mt['recon_mse']:.4f} "
                      f"per pixel on [-1, 1], PSNR {mt['recon_psnr']:.2f} dB on {mt['recon_n']} test images*", ""]
    lines += ["## Reproducibility", "",
              "The recipes are what ran: `scripts/train_pretrained.py` builds the command from the recipe, runs "
              "it and records the same string in the manifest.  fmnist-vae was trained a second time from its "
              "recorded command (`python scripts/train_pretrained.py train fmnist-vae --runs OTHER`, same seed, "
              "CPU, one thread): all 10 generator tensors of the two final checkpoints are bitwise identical "
              "(fp32), and the shipped file's check FCD reproduces to 1e-6 relative "
              "(`python scripts/train_pretrained.py compare fmnist-vae --runs OTHER`).", ""]
    shipped = {e["name"] for e in m.get("models", [])}
    tried = {k: v for k, v in NOT_SHIPPED.items() if k not in shipped}
    if tried:
        lines += ["## Not shipped", "",
                  "Models whose samples were not recognisably of their data are not shipped; their recipes "
                  "stay in `scripts/train_pretrained.py` for a longer run.", ""]
        lines += [f"- **{k}**: {v}" for k, v in tried.items()] + [""]
    clf = m.get("classifier")
    if clf:
        lines += ["## The metric classifier", "", f"`pretrained/{clf['file']}`: {clf.get('note', '')}", ""]
    out = ROOT / "docs" / "MODELS.md"
    out.write_text("\n".join(lines))
    return out


def real_reference() -> dict:
    """What real data scores on each metric, measured as a model is (``reference`` action): Fashion-MNIST's
    training images against its test split (FCD at EVAL_N, precision / recall at the same set size), and
    for each shapes variant a shipped model uses, SHAPES_EVAL_N training images' pixel FD."""
    import torch

    from ganstudio.training import metrics
    from ganstudio.training.data import make_dataset
    out = {"fashion-mnist": {k: (round(v, 4) if isinstance(v, float) else v)
                             for k, v in metrics.real_reference(EVAL_N, data="fashion-mnist").items()}}
    for data in sorted({e["data"] for e in read_manifest()["models"] if e["data"].startswith("shapes")}):
        _SHAPES_STATS.setdefault(data, metrics.feature_stats(_pixel_features(_real_shapes(SHAPES_REAL_N, data))))
        train = make_dataset(data, 32, 3, split="train", limit=SHAPES_EVAL_N)
        x, _ = train.batch(torch.arange(len(train)))
        mu, sigma = metrics.feature_stats(_pixel_features(x))
        out[data] = {"source": f"{data} training split, first {len(train)} images, against {SHAPES_REAL_N} test "
                               f"images", "n": len(train),
                     "pixel_fd": round(metrics.frechet_distance(mu, sigma, *_SHAPES_STATS[data]), 4)}
    return out


def store_reference() -> dict:
    ref = real_reference()
    m = read_manifest()
    m["real_reference"] = ref
    write_manifest(m)
    return ref


def emoji_reference() -> dict:
    """The emoji classifier's own real-data figures: its 365 test glyphs against the train split's statistics."""
    from ganstudio.training.classifier import EMOJI_PATH, load_classifier
    return dict(load_classifier(EMOJI_PATH).meta["reference"])


def readme_table() -> str:
    """The README's shipped-model table (markdown), from the manifest, with real data's figures first."""
    rows = ["| model | data | steps | CPU wall time | FCD (emoji: FD in the emoji classifier; shapes: pixel FD) | "
            "untrained | precision | recall | "
            "class acc. |", "|---|---|---|---|---|---|---|---|---|"]
    manifest = read_manifest()
    for data, r in manifest.get("real_reference", {}).items():
        if "fcd" in r:
            rows.append(f"| *real data* (train vs test, n {r['n']}) | {data} | | | {r['fcd']:.2f} | | "
                        f"{r['precision']:.3f} | {r['recall']:.3f} | |")
        else:
            rows.append(f"| *real data* (train vs test, n {r['n']}) | {data} | | | {r['pixel_fd']:.2f} | | | | |")
    if any(e["data"] == "emoji" for e in manifest["models"]):
        ref = emoji_reference()
        rows.append(f"| *real data* (test vs train, n {ref['n']}) | emoji | | | {ref['fcd_test_vs_train']:.2f} | | "
                    f"{ref['precision_test_vs_train']:.3f} | {ref['recall_test_vs_train']:.3f} | |")
    for e in manifest["models"]:
        m = e["metrics"]
        key = e["check"]["metric"]
        digits = 1 if key == "fcd" else 2
        name = f"**{e['name']}** (default)" if e.get("default") else e["name"]
        acc = _fmt(m.get("class_accuracy")) if e["classes"] and m.get("class_accuracy") is not None else "–"
        rows.append(f"| {name} | {e['data']} | {e['steps']} | {e['wall_time_s'] / 60:.1f} min | "
                    f"{_fmt(m[key], digits)} | {m[key + '_untrained']:.{0 if key == 'fcd' else 2}f} | "
                    f"{_fmt(m.get('precision'), 3)} | {_fmt(m.get('recall'), 3)} | {acc} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=("list", "train", "ship", "all", "set-default", "command", "docs", "compare",
                                      "readme-table", "reference"))
    p.add_argument("name", nargs="?")
    p.add_argument("--runs", type=Path, default=DEFAULT_RUNS, help="folder holding the run folders")
    p.add_argument("--ckpt", type=Path, default=None, help="ship this checkpoint instead of the run's newest")
    a = p.parse_args(argv)
    if a.action == "docs":
        print(write_docs())
        return 0
    if a.action == "readme-table":
        print(readme_table())
        return 0
    if a.action == "reference":
        print(json.dumps(store_reference(), indent=1))
        return 0
    if a.action == "list":
        for n in RECIPES:
            print(f"{n:<26} {command_for(n)}")
        return 0
    if a.name not in RECIPES:
        p.error(f"unknown model {a.name!r}; known: {', '.join(RECIPES)}")
    if a.action == "command":
        print(command_for(a.name, str(run_dir_of(a.name, a.runs))))
    if a.action in ("train", "all"):
        train(a.name, a.runs)
    if a.action in ("ship", "all"):
        ship(a.name, a.runs, a.ckpt)
    if a.action == "compare":
        compare(a.name, a.runs)
    if a.action == "set-default":
        set_default(a.name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
