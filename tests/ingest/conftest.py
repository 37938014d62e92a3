"""Ingest tests: make this folder's helper modules (ingest_helpers, adam_synthetic) importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
