"""Built-in datasets with exact region ground truth: random cartoons and character illustrations."""
