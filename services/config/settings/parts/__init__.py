"""Settings by topic, one module each; the role modules one level up compose them."""
