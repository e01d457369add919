"""Pure region algorithms (numpy, numba, OpenCV, scikit-image): no Prefect, no paths, no torch.

One subpackage per domain:

- `danbooregion` — illustrations → regions as in DanbooRegion: region maps → labels, the skeleton
  target (height field) and its numba kernels, the decoders back to regions, classical baselines,
  metrics, annotation quality, and the export encoders of a label map (region table, COCO, SVG).
- `comics` — webtoon strips and comic pages: slice linking (strips), cut detection (cuts), panel
  detection (panels, panels_legacy), their scores (panel_eval) and synthetic strips and pages
  (comic_synth).
- `parts` — character parts as instance masks: synthetic parts (parts_synth), COCO instance
  documents (coco_instances), region snapping and COCO evaluation (parts_eval).
- `synthetic` — built-in illustration datasets with exact region ground truth: random cel-painted
  cartoons (cartoons) and character-like illustrations (illustration).

Reading and decoding file bytes is not here: it is at the storage edge (`storage.validation`).
"""
