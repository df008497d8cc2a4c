"""The analysts' warehouse: base tables, their migrations and the engine that reaches them."""
