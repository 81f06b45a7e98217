"""Editor-facing features. Each implements the ``Feature`` contract (features/base.py) and is
built by the composition root with its collaborators; features never import each other."""
