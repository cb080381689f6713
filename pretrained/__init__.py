"""The shipped models, installed as the package data ``ganstudio.pretrained_data`` (see ganstudio/pretrained.py).

No code: the package exists so that ``importlib.resources`` finds manifest.json and the weights.
"""
