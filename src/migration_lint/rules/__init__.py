"""Built-in rules: one rule class per module. The registry finds them; nothing else lists them."""
