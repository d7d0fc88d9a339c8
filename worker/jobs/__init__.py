"""Job state: `recorder` writes every change after creation, `reader` answers questions."""
