"""Pure helpers with no Django model dependencies; each has its own tests."""
