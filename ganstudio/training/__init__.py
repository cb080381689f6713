"""Training: losses, presets, the loop (a generator of stat dicts), run folders, data sets, metrics.

The loop is ``ganstudio.training.loop.train(config, run_dir)``; presets come from
``ganstudio.training.presets.get_preset(name)``.  Nothing here imports Qt.

A training step, in parts:
  presets.py       TrainConfig (sections: data, model, optimization, loss and regularizers, schedule,
                   run), settings() and applies(): which setting means what for which model
  loop.py          train(): the trainer's state and the loop (reports, samples, checkpoints, status)
  networks.py      G and D from the config, checked to run before anything is written; optimizers
  batches.py       the reproducible order of real batches
  phases.py        GANLoss: the D / G / VAE phases, regularizers as a table (name, weight, interval, fn)
  losses.py        the loss and regularizer functions themselves
  stats.py         the loss terms between two reports, read back in one sync
  checkpointer.py  saving and resuming (optimizer state flattened into named tensors)
  run_dir.py       the run folder's files; errors.py: the one-line failures
"""
