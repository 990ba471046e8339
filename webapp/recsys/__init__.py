"""The recommender: data -> model -> evaluation -> cache.

Plain Python, NumPy/SciPy and TensorFlow; nothing here imports Flask except ``cli.py``.
TensorFlow is imported inside the functions that train or score a neural model, so that
importing this package (as the web app does) never loads it.
"""
