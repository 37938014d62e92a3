"""dossier: oncology dose-optimization trial data to regulatory dose-justification dossiers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dossier")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
