"""The whole-image engines, sync: every module here is GENERATED from `images/_async/` by scripts/unasync.py.

Never edit a module of this package by hand: edit its async source and run `python scripts/unasync.py`.
The public sync API is `containerregistry.images`, which re-exports from here.
"""
