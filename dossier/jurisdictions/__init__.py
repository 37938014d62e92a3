"""jurisdictions stage."""
