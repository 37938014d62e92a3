"""dossier: oncology dose-optimization trial data to regulatory dose-justification dossiers."""


def __getattr__(name: str):
    # lazy (PEP 562): importlib.metadata costs ~0.1 s at start-up, and only --version needs it
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("dossier")
        except PackageNotFoundError:  # running from a source tree without installation
            value = "0.0.0+unknown"
        globals()["__version__"] = value
        return value
    raise AttributeError(f"module 'dossier' has no attribute {name!r}")
