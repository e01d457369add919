"""Webtoon strips and comic pages: slice linking, cuts, panels, panel scores, synthetic comics."""
