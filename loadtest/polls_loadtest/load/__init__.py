"""Load scenarios, an open-loop latency client and its reports for the polls stack (loadtest/README.md)."""
