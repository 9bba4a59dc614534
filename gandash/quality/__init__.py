"""How good a generator is: metrics (FID, KID, precision/recall, classes, modes) in the feature space of
small bundled classifiers, drawing samples for them, the in-training evaluator and the diagnosis of
metric histories into plain-language findings."""
