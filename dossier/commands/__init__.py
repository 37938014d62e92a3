"""The command-line commands of the stages, above every stage and below :mod:`dossier.cli` (the only
module that imports them): :mod:`~dossier.commands.designs` (``boundaries``, ``simulate``, ``decide``) and
:mod:`~dossier.commands.study` (``study``)."""
