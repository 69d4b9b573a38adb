"""Scoring decoders: predictions in image px, COCO stats, OKS, PCKh, Δ sweeps."""
