"""Training: losses, presets, the loop (a generator of stat dicts), run folders, data sets, metrics.

The loop is ``ganstudio.training.loop.train(config, run_dir)``; presets come from
``ganstudio.training.presets.get_preset(name)``.  Nothing here imports Qt.
"""
