"""Illustrations → regions (DanbooRegion): labels, skeleton target, decoders, baselines, metrics,
annotation quality, and the export encoders of a label map (region table, COCO, SVG)."""
