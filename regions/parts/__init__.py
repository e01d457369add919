"""Character parts as instance masks: synthetic parts, COCO instance documents, snapping and
COCO evaluation."""
