"""Files copied into generated Python-backend models (they run inside Triton's stub, not in encexport)."""
