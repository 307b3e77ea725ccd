"""Engine: Variable, Layer, InputLayer, Functional graph, Model, Sequential."""
