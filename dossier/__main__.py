"""``python -m dossier``: the same CLI as the ``dossier`` console script."""

from dossier.cli import run

run()
