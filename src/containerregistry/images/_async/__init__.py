"""The whole-image engines, async: the source of truth that `images/_sync/` is generated from.

Owns the network halves of the image operations: the copy engine (`_copier.py`, over the stores of
`_stores.py`, behind one protocol), the reads behind a copy plan (`_plan_reads.py`),
`copy_image`/`push_image`/`pull_image` (`_copy.py`), `prune` (`_prune.py`), and the engines of mirroring
(`_mirror.py`), archives (`_archives.py`, with their sources and sinks in `_archive_stores.py`),
inspection and tags (`_inspect.py`) and ORAS artifacts (`_artifacts_oras.py`). Their pure halves (models, plans, parsing) are the modules of
`images/` itself. The public async API is `containerregistry.aio.images`; this package exports nothing.
"""
