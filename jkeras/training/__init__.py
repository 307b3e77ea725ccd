"""Training and inference: compile/fit/evaluate/predict and their parts."""
