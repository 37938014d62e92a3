"""designs stage."""
