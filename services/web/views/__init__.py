"""Views of the web service: each parses input, calls one domain service or selector, renders."""
