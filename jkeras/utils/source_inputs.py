"""`get_source_inputs`: the input tensors a symbolic tensor is computed from."""

from __future__ import annotations


def get_source_inputs(tensor):
    """The list of source tensors needed to compute the symbolic `tensor`: the
    `Input` tensors (or other tensors without a producing layer call) reached
    by walking its graph backwards, each once, in depth-first, left-to-right
    order. A value that is not a symbolic tensor is returned as it is."""
    if not hasattr(tensor, "_keras_history"):
        return tensor
    sources: list = []
    seen: set[int] = set()
    stack = [tensor]
    while stack:  # iterative: deep graphs do not hit Python's recursion limit
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        history = getattr(t, "_keras_history", None)
        operation = history[0] if history else None
        nodes = getattr(operation, "_inbound_nodes", None)
        if not nodes:
            sources.append(t)
            continue
        node = nodes[history[1]]
        if node.is_input:
            sources.extend(x for x in node.output_tensors if all(x is not s for s in sources))
            continue
        stack.extend(reversed(node.input_tensors))
    return sources
